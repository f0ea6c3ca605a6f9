// tlsclient calls greenrpc over TLS with Go's standard library only: tls.Dial, then
// jsonrpc.NewClient on the TLS connection, verifying the server against the given CA file and
// presenting a client certificate if one is given. It prints one JSON object with what it saw.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"net/rpc/jsonrpc"
	"os"
	"sync"
)

type Args struct{ A, B int }
type Reply struct{ Pro, Quo, Rem int }

func main() {
	addr := flag.String("addr", "127.0.0.1:8096", "server address")
	caFile := flag.String("ca", "", "PEM file of the certificate to trust")
	calls := flag.Int("calls", 1000, "concurrent calls after the first")
	certFile := flag.String("cert", "", "PEM file of a client certificate to present")
	keyFile := flag.String("key", "", "PEM file of its private key")
	flag.Parse()
	pem, err := os.ReadFile(*caFile)
	if err != nil {
		panic(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		panic("no certificate in " + *caFile)
	}
	out := map[string]interface{}{}
	config := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if *certFile != "" {
		pair, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			panic(err)
		}
		config.Certificates = []tls.Certificate{pair}
	}
	conn, err := tls.Dial("tcp", *addr, config)
	if err != nil {
		out["dial_err"] = err.Error()
		emit(out)
		return
	}
	out["tls_version"] = map[uint16]string{tls.VersionTLS12: "TLS 1.2",
		tls.VersionTLS13: "TLS 1.3"}[conn.ConnectionState().Version]
	client := jsonrpc.NewClient(conn)
	var reply Reply
	if err := client.Call("Arith.Multiply", Args{7, 8}, &reply); err != nil {
		out["multiply_err"] = err.Error()
	}
	out["multiply"] = reply.Pro
	if err := client.Call("Arith.Divide", Args{1, 0}, &reply); err != nil {
		out["divzero"] = err.Error()
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	good, bad := 0, 0
	for i := 0; i < *calls; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var r Reply
			err := client.Call("Arith.Multiply", Args{i, 3}, &r)
			mu.Lock()
			if err == nil && r.Pro == 3*i {
				good++
			} else {
				bad++
			}
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	out["concurrent_ok"], out["concurrent_bad"] = good, bad
	client.Close()
	emit(out)
}

func emit(out map[string]interface{}) {
	data, _ := json.Marshal(out)
	fmt.Println(string(data))
}
