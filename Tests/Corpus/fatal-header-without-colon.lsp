Content-Length: 2
not a header

{}