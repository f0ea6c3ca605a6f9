// Go's own servers, the reference for fairness: jsonrpc.ServeConn per connection on -addr, and
// net/http on -http answering a POST once it has read the whole body (at most 4 MiB, as
// greenrpc's default max_message_size). Prints "ready" once both listen, then serves until killed.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
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
	addr := flag.String("addr", "127.0.0.1:8096", "JSON-RPC listen address")
	httpAddr := flag.String("http", "127.0.0.1:8097", "HTTP listen address")
	flag.Parse()
	if err := rpc.Register(new(Arith)); err != nil {
		log.Fatal(err)
	}
	rpcListener, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	httpListener, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		log.Fatal(err)
	}
	go http.Serve(httpListener, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		fmt.Fprintf(w, "%d bytes\n", len(body))
	}))
	fmt.Println("ready")
	for {
		conn, err := rpcListener.Accept()
		if err != nil {
			log.Print(err)
			continue
		}
		go jsonrpc.ServeConn(conn)
	}
}
