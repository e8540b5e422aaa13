Content-Length: 100

{"jsonrpc"