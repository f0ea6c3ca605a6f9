// Go's own net/rpc gob server (rpc.Accept) with the seed Arith service: the baseline that
// benchmarks/gob_bench.py measures greenrpc against. Serves until killed.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/rpc"
	"os"
)

type ArithRequest struct{ A, B int }

type ArithResponse struct{ Pro, Quo, Rem int }

type Arith int

func (t *Arith) Multiply(args *ArithRequest, reply *ArithResponse) error {
	reply.Pro = args.A * args.B
	return nil
}

func (t *Arith) Divide(args *ArithRequest, reply *ArithResponse) error {
	if args.B == 0 {
		return errors.New("divide by zero")
	}
	reply.Quo = args.A / args.B
	reply.Rem = args.A % args.B
	return nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8097", "listen address")
	flag.Parse()
	rpc.Register(new(Arith))
	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rpc.Accept(listener)
}
