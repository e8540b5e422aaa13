Content-Length: -1

{}