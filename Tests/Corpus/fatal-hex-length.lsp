Content-Length: 0x10

{}