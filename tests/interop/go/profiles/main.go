// The round-trip proof's Go side: `profiles serve` runs Go's net/rpc server (gob and jsonrpc,
// one port each) with the Profiles service; `profiles call -addr A -codec json|gob` calls a
// greenrpc server's Profiles with Go's stock clients and prints what it found as JSON;
// `profiles capture` prints the byte vectors of tests/vectors/go_types.json.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/rpc"
	"net/rpc/jsonrpc"
	"os"
	"time"
)

var stdout = os.Stdout

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

func serve() {
	if err := rpc.Register(new(Profiles)); err != nil {
		fail(err)
	}
	gobListener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	jsonListener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	fmt.Println(gobListener.Addr())
	fmt.Println(jsonListener.Addr())
	go rpc.Accept(gobListener)
	for {
		conn, err := jsonListener.Accept()
		if err != nil {
			fail(err)
		}
		go jsonrpc.ServeConn(conn)
	}
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// call runs every Profiles method against a greenrpc server and reports the differences.
func call(addr, codec string) {
	var client *rpc.Client
	var err error
	if codec == "gob" {
		client, err = rpc.Dial("tcp", addr)
	} else {
		client, err = jsonrpc.Dial("tcp", addr)
	}
	if err != nil {
		fail(err)
	}
	defer client.Close()
	report := map[string]interface{}{}
	sample := sampleProfile()

	var echoed Profile
	err = client.Call("Profiles.Echo", sample, &echoed)
	report["echo_err"], report["echo_diff"] = errorText(err), describe(diff("Profile", echoed, sample))

	var checked string
	err = client.Call("Profiles.Check", sample, &checked)
	report["check_err"], report["check"] = errorText(err), checked

	var made Profile
	err = client.Call("Profiles.Sample", 0, &made)
	report["sample_err"], report["sample_diff"] = errorText(err), describe(diff("Profile", made, sample))

	var shifted time.Time
	at := time.Date(2023, 3, 14, 15, 9, 26, 535897932, time.FixedZone("", -3*3600))
	err = client.Call("Profiles.Shift", Stamp{at, 90*time.Minute + 1}, &shifted)
	report["shift_err"], report["shift_diff"] = errorText(err), describe(diff("Time", shifted, at.Add(90*time.Minute+1)))

	var level Level
	err = client.Call("Profiles.Paint", ColorGreen, &level)
	report["paint_err"], report["paint"] = errorText(err), string(level)
	err = client.Call("Profiles.Paint", Color(9), &level)
	report["paint_unknown_err"] = errorText(err)

	encoder := json.NewEncoder(stdout)
	if err := encoder.Encode(report); err != nil {
		fail(err)
	}
}

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: profiles serve | call -addr A -codec json|gob | capture"))
	}
	flags := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	addr := flags.String("addr", "", "greenrpc server to call")
	codec := flags.String("codec", "json", "json or gob")
	flags.Parse(os.Args[2:])
	switch os.Args[1] {
	case "serve":
		serve()
	case "call":
		call(*addr, *codec)
	case "capture":
		capture()
	case "gob":
		encodeGob(flags.Arg(0))
	default:
		fail(fmt.Errorf("usage: profiles serve | call -addr A -codec json|gob | capture"))
	}
}
