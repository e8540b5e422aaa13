Content-Length: 2

[]