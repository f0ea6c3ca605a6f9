// Go's own net/rpc/jsonrpc server, the bar greenrpc is measured against: jsonrpc.ServeConn
// per connection, Arith.Multiply returning {"Pro": A*B}.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/rpc"
	"net/rpc/jsonrpc"
)

type Args struct{ A, B int }

type Product struct{ Pro int }

type Arith int

func (t *Arith) Multiply(args *Args, reply *Product) error {
	reply.Pro = args.A * args.B
	return nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8096", "listen address")
	flag.Parse()
	if err := rpc.Register(new(Arith)); err != nil {
		log.Fatal(err)
	}
	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("listening on", listener.Addr())
	for {
		conn, err := listener.Accept()
		if err != nil {
			log.Print(err)
			continue
		}
		go jsonrpc.ServeConn(conn)
	}
}
