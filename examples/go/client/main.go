// A Go client using only the standard library's net/rpc/jsonrpc, calling greenrpc's Arith.
package main

import (
	"fmt"
	"log"
	"net/rpc/jsonrpc"
	"os"
)

type Args struct{ A, B int }

type Product struct{ Pro int }

type Quotient struct{ Quo, Rem int }

func main() {
	addr := "127.0.0.1:8096"
	if len(os.Args) > 1 {
		addr = os.Args[1]
	}
	client, err := jsonrpc.Dial("tcp", addr)
	if err != nil {
		log.Fatal("dialing: ", err)
	}
	defer client.Close()

	var product Product
	if err := client.Call("Arith.Multiply", Args{7, 8}, &product); err != nil {
		log.Fatal("Arith.Multiply: ", err)
	}
	fmt.Printf("Arith.Multiply: 7*8=%d\n", product.Pro)

	var quotient Quotient
	if err := client.Call("Arith.Divide", Args{17, 5}, &quotient); err != nil {
		log.Fatal("Arith.Divide: ", err)
	}
	fmt.Printf("Arith.Divide: 17/5=%d remainder %d\n", quotient.Quo, quotient.Rem)

	err = client.Call("Arith.Divide", Args{1, 0}, &quotient)
	fmt.Printf("Arith.Divide: 1/0 failed: %v\n", err)
}
