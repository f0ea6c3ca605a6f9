// Calls a greenrpc server with Go's stock net/rpc client (gob over TCP, or over HTTP CONNECT
// with -http): the seed calls, errors, and many goroutines sharing one client. Prints one JSON
// object with what it saw.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/rpc"
	"os"
	"sync"
	"time"
)

type ArithRequest struct{ A, B int }

type ArithResponse struct{ Pro, Quo, Rem int }

type SleepArgs struct {
	Ms  int
	Tag string
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8096", "server address")
	overHTTP := flag.Bool("http", false, "dial with rpc.DialHTTP instead of rpc.Dial")
	goroutines := flag.Int("goroutines", 50, "goroutines sharing one client")
	calls := flag.Int("calls", 200, "calls per goroutine")
	flag.Parse()

	dial := rpc.Dial
	if *overHTTP {
		dial = rpc.DialHTTP
	}
	client, err := dial("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dial:", err)
		os.Exit(2)
	}
	defer client.Close()
	out := map[string]interface{}{}

	var mul ArithResponse
	out["multiply_err"] = errText(client.Call("Arith.Multiply", ArithRequest{7, 8}, &mul))
	out["multiply"] = mul.Pro
	var div ArithResponse
	out["divide_err"] = errText(client.Call("Arith.Divide", ArithRequest{-17, 5}, &div))
	out["divide"] = []int{div.Quo, div.Rem}
	out["divzero"] = errText(client.Call("Arith.Divide", ArithRequest{1, 0}, &div))
	out["unknown_method"] = errText(client.Call("Arith.Power", ArithRequest{1, 2}, &div))
	out["unknown_service"] = errText(client.Call("Math.Multiply", ArithRequest{1, 2}, &div))
	var slice []int
	out["slice_err"] = errText(client.Call("Echo.Slice", 3, &slice))
	out["slice"] = slice
	var zero int = 99
	out["int_zero_err"] = errText(client.Call("Echo.Int", 0, &zero))
	out["int_zero"] = zero
	var str string
	out["str_err"] = errText(client.Call("Echo.Str", "hé", &str))
	out["str"] = str
	var anyNil interface{} = "unchanged"
	out["any_nil_err"] = errText(client.Call("Echo.Any", 0, &anyNil))
	out["any_nil"] = anyNil
	var anyInt interface{}
	out["any_int_err"] = errText(client.Call("Echo.Any", 5, &anyInt))
	out["any_int"] = anyInt

	// A slow call must not hold up fast ones on the same connection.
	slow := client.Go("Slow.Sleep", SleepArgs{Ms: 500, Tag: "slow"}, new(string), nil)
	start := time.Now()
	var fast ArithResponse
	client.Call("Arith.Multiply", ArithRequest{2, 3}, &fast)
	out["fast_while_slow_ms"] = time.Since(start).Milliseconds()
	<-slow.Done
	out["slow_reply"] = *(slow.Reply.(*string))

	var wg sync.WaitGroup
	var mu sync.Mutex
	bad := 0
	for g := 0; g < *goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < *calls; i++ {
				var r ArithResponse
				var err error
				if i%10 == 0 {
					err = client.Call("Arith.Divide", ArithRequest{g, 0}, &r)
					if err == nil || err.Error() != "divide by zero" {
						mu.Lock()
						bad++
						mu.Unlock()
					}
					continue
				}
				err = client.Call("Arith.Multiply", ArithRequest{g, i}, &r)
				if err != nil || r.Pro != g*i {
					mu.Lock()
					bad++
					mu.Unlock()
				}
			}
		}(g)
	}
	wg.Wait()
	out["concurrent_calls"] = *goroutines * *calls
	out["concurrent_bad"] = bad
	out["after_err"] = errText(client.Call("Arith.Multiply", ArithRequest{6, 7}, &mul))
	out["after"] = mul.Pro
	json.NewEncoder(os.Stdout).Encode(out)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
