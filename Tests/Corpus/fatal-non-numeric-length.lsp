Content-Length: twelve

{}