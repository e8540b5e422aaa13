Content-Length: 2
Content-Type: application/vscode-jsonrpc; charset=utf-8
X-Other: 1

{}