Content-Length: 2
password Pr9sXc

{}