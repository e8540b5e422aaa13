Content-Length: 999999999999

