module greenrpc.example/client

go 1.19
