// Go's stock net/rpc/jsonrpc client and a JSON-RPC 2.0 client (encoding/json on a raw
// connection) calling one greenrpc port at the same time. Prints one JSON object with counts.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/rpc/jsonrpc"
	"os"
	"sync"
	"time"
)

type ArithRequest struct{ A, B int }

type ArithResponse struct{ Pro, Quo, Rem int }

type v2Request struct {
	JSONRPC string        `json:"jsonrpc"`
	Method  string        `json:"method"`
	Params  []interface{} `json:"params"`
	ID      *int          `json:"id,omitempty"`
}

type v2Reply struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      int             `json:"id"`
	Result  *ArithResponse  `json:"result"`
	Error   json.RawMessage `json:"error"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8096", "server address")
	goroutines := flag.Int("goroutines", 20, "goroutines sharing the Go client")
	calls := flag.Int("calls", 100, "calls per goroutine")
	batches := flag.Int("batches", 50, "JSON-RPC 2.0 batches")
	batchSize := flag.Int("batch-size", 20, "calls per batch (plus one notification)")
	flag.Parse()

	var wg sync.WaitGroup
	var goCalls, goBad int
	var mu sync.Mutex
	client, err := jsonrpc.Dial("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dial:", err)
		os.Exit(2)
	}
	defer client.Close()
	for g := 0; g < *goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < *calls; i++ {
				var reply ArithResponse
				err := client.Call("Arith.Multiply", ArithRequest{g, i}, &reply)
				mu.Lock()
				goCalls++
				if err != nil || reply.Pro != g*i {
					goBad++
				}
				mu.Unlock()
			}
		}(g)
	}

	v2Replies, v2Bad, v2Extra := 0, 0, 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		conn, err := net.Dial("tcp", *addr)
		if err != nil {
			v2Bad = -1
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(60 * time.Second))
		encoder, decoder := json.NewEncoder(conn), json.NewDecoder(conn)
		want := map[int]int{}
		next := 0
		for b := 0; b < *batches; b++ {
			batch := []v2Request{{JSONRPC: "2.0", Method: "Echo.Int", Params: []interface{}{b}}}
			for i := 0; i < *batchSize; i++ {
				id := next
				next++
				want[id] = id * 3
				batch = append(batch, v2Request{JSONRPC: "2.0", Method: "Arith.Multiply",
					Params: []interface{}{ArithRequest{id, 3}}, ID: &id})
			}
			if err := encoder.Encode(batch); err != nil {
				v2Bad = -2
				return
			}
		}
		for len(want) > 0 {
			var replies []v2Reply
			if err := decoder.Decode(&replies); err != nil {
				v2Bad = -3
				return
			}
			for _, r := range replies {
				v2Replies++
				pro, ok := want[r.ID]
				if !ok {
					v2Extra++
					continue
				}
				delete(want, r.ID)
				if r.JSONRPC != "2.0" || r.Result == nil || r.Result.Pro != pro || len(r.Error) != 0 {
					v2Bad++
				}
			}
		}
	}()
	wg.Wait()
	out, _ := json.Marshal(map[string]int{"go_calls": goCalls, "go_bad": goBad,
		"v2_replies": v2Replies, "v2_bad": v2Bad, "v2_unexpected": v2Extra})
	fmt.Println(string(out))
}
