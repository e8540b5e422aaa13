Content-Length: 0

