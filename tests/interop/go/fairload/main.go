// fairload measures whether one greedy client can starve the others. While -flood connections
// pipeline Arith.Multiply without pause (one goroutine writes requests as fast as the socket
// takes them, another reads the replies) and -chunked connections POST a body in 1-byte HTTP
// chunks as fast as the socket takes them, a probe opens a fresh connection every -every, makes
// one call and closes it. It prints one JSON line: the probes' latency (dial to reply), how many
// failed, and the flood's replies per second. Every probe and flood reply is checked.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

var (
	addr     = flag.String("addr", "127.0.0.1:8096", "JSON-RPC address (Go's dialect)")
	httpAddr = flag.String("http", "", "HTTP address for the chunked senders (default: -addr)")
	flood    = flag.Int("flood", 1, "pipelining connections")
	chunked  = flag.Int("chunked", 1, "connections sending a body in 1-byte chunks")
	every    = flag.Duration("every", 20*time.Millisecond, "time between probes")
	duration = flag.Duration("duration", 4*time.Second, "measured time")
	warmup   = flag.Duration("warmup", 500*time.Millisecond, "load before the first probe")
	timeout  = flag.Duration("timeout", 30*time.Second, "a probe that takes longer fails")
)

const request = `{"method":"Arith.Multiply","params":[{"A":9,"B":2}],"id":1}` + "\n"

type summary struct {
	Probes        int     `json:"probes"`
	ProbeErrors   int     `json:"probe_errors"`
	FirstError    string  `json:"first_error,omitempty"`
	P50us         float64 `json:"p50_us"`
	P99us         float64 `json:"p99_us"`
	MaxUs         float64 `json:"max_us"`
	FloodPerS     float64 `json:"flood_replies_per_s"`
	FloodBadReply int64   `json:"flood_bad_replies"`
}

func main() {
	flag.Parse()
	if *httpAddr == "" {
		*httpAddr = *addr
	}
	var stop atomic.Bool
	var replies, bad atomic.Int64
	var wg sync.WaitGroup
	var conns []net.Conn
	var mu sync.Mutex
	keep := func(c net.Conn) { mu.Lock(); conns = append(conns, c); mu.Unlock() }
	for i := 0; i < *flood; i++ {
		c, err := net.Dial("tcp", *addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "flood:", err)
			os.Exit(2)
		}
		keep(c)
		batch := bytes.Repeat([]byte(request), 64)
		wg.Add(2)
		go func() { // writer: as fast as the socket takes them
			defer wg.Done()
			for !stop.Load() {
				if _, err := c.Write(batch); err != nil {
					return
				}
			}
		}()
		go func() { // reader
			defer wg.Done()
			r := bufio.NewReaderSize(c, 1<<16)
			for {
				line, err := r.ReadSlice('\n')
				if err != nil {
					return
				}
				if !bytes.Contains(line, []byte(`"Pro":18`)) {
					bad.Add(1)
				}
				replies.Add(1)
			}
		}()
	}
	for i := 0; i < *chunked; i++ {
		c, err := net.Dial("tcp", *httpAddr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "chunked:", err)
			os.Exit(2)
		}
		keep(c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			head := "POST / HTTP/1.1\r\nHost: fairload\r\nContent-Type: application/json\r\n" +
				"Transfer-Encoding: chunked\r\n\r\n"
			if _, err := c.Write([]byte(head)); err != nil {
				return
			}
			chunks := bytes.Repeat([]byte("1\r\n \r\n"), 10000)
			for !stop.Load() {
				if _, err := c.Write(chunks); err != nil {
					return
				}
			}
		}()
	}
	time.Sleep(*warmup)
	startReplies := replies.Load()
	started := time.Now()
	var lat []float64
	s := summary{}
	for time.Since(started) < *duration {
		t0 := time.Now()
		err := probe()
		d := time.Since(t0)
		if err != nil {
			s.ProbeErrors++
			if s.FirstError == "" {
				s.FirstError = err.Error()
			}
		} else {
			lat = append(lat, float64(d.Microseconds()))
		}
		if rest := *every - d; rest > 0 {
			time.Sleep(rest)
		}
	}
	elapsed := time.Since(started)
	s.FloodPerS = float64(replies.Load()-startReplies) / elapsed.Seconds()
	stop.Store(true)
	mu.Lock()
	for _, c := range conns {
		c.Close()
	}
	mu.Unlock()
	wg.Wait()
	s.FloodBadReply = bad.Load()
	sort.Float64s(lat)
	s.Probes = len(lat) + s.ProbeErrors
	if len(lat) > 0 {
		s.P50us = lat[len(lat)/2]
		s.P99us = lat[int(0.99*float64(len(lat)-1))]
		s.MaxUs = lat[len(lat)-1]
	}
	out, _ := json.Marshal(s)
	fmt.Println(string(out))
}

func probe() error {
	c, err := net.DialTimeout("tcp", *addr, *timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(*timeout))
	if _, err := c.Write([]byte(request)); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.Contains(line, []byte(`"Pro":18`)) {
		return fmt.Errorf("unexpected reply %.100s", line)
	}
	return nil
}
