"""The upload portal (`xltool serve`): townships upload in a browser and get the verdict in seconds."""
