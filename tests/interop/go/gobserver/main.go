// Go's stock net/rpc server with the seed Arith and a slow method, for greenrpc's client to
// call: gob over TCP (rpc.Accept) on one port and rpc.HandleHTTP on another. Prints the two
// addresses, one per line, then serves until killed.
package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/rpc"
	"os"
	"time"
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

type SleepArgs struct {
	Ms  int
	Tag string
}

type Slow int

func (s *Slow) Sleep(args *SleepArgs, reply *string) error {
	time.Sleep(time.Duration(args.Ms) * time.Millisecond)
	*reply = args.Tag
	return nil
}

func listen() net.Listener {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return listener
}

func main() {
	rpc.Register(new(Arith))
	rpc.Register(new(Slow))
	rpc.HandleHTTP()
	tcp, web := listen(), listen()
	fmt.Println(tcp.Addr().String())
	fmt.Println(web.Addr().String())
	go http.Serve(web, nil)
	rpc.Accept(tcp)
}
