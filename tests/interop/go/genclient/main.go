// A Go program built on `greenrpc gen go` output: the test generates package profiles from
// greenrpc's Profiles service, puts it beside this file in a module with diff.go (from
// ../profiles), and runs `genclient -addr A -codec json|gob` against the running server.
// It prints what each call found as JSON.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"gentest/profiles"
)

// sample is the profile of sample.go, built with the generated types.
func sample() profiles.Profile {
	nickname := "ada"
	deleted := time.Date(2024, 1, 2, 3, 4, 5, 120000000, time.UTC)
	manager := profiles.Profile{
		Base:    profiles.Base{ID: 7, CreatedAt: time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC)},
		Name:    "Grace",
		Level:   profiles.LevelDebug,
		Timeout: -2 * time.Second,
	}
	return profiles.Profile{
		Base:     profiles.Base{ID: 42, CreatedAt: time.Date(2023, 3, 14, 15, 9, 26, 535897932, time.FixedZone("", 5*3600+1800))},
		Audit:    &profiles.Audit{By: "ops"},
		UserID:   1<<63 + 5,
		Name:     "Ada Lovelace é",
		HomeURL:  "https://example.com/~ada",
		Timeout:  1500*time.Millisecond + 7,
		Color:    profiles.ColorBlue,
		Level:    profiles.LevelInfo,
		Priority: profiles.PriorityHigh,
		Tags:     []profiles.Tag{{Name: "a", Weight: 1.5}, {Name: "b", Weight: -0.25}},
		Scores:   map[string]int32{"math": -7},
		ByID:     map[int64]string{-3: "x"},
		Grid:     [2][3]int8{{1, -2, 3}, {0, 127, -128}},
		Avatar:   []byte{0, 255, 10},
		Manager:  &manager,
		Nickname: &nickname,
		Deleted:  &deleted,
		Secret:   "s3cret",
		Ratio:    0.1,
		Active:   true,
		Counts:   []uint16{0, 65535},
	}
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func main() {
	addr := flag.String("addr", "", "greenrpc server")
	codec := flag.String("codec", "json", "json or gob")
	flag.Parse()
	choice := profiles.JSON
	if *codec == "gob" {
		choice = profiles.Gob
	}
	client, err := profiles.Dial(*addr, choice)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer client.Close()
	report := map[string]string{}
	want := sample()

	echoed, err := client.Profiles.Echo(want)
	report["echo_err"], report["echo_diff"] = errorText(err), describe(diff("Profile", echoed, want))
	checked, err := client.Profiles.Check(want)
	report["check_err"], report["check"] = errorText(err), checked
	made, err := client.Profiles.Sample(0)
	report["sample_err"], report["sample_diff"] = errorText(err), describe(diff("Profile", made, want))
	at := time.Date(2023, 3, 14, 15, 9, 26, 535897932, time.FixedZone("", -3*3600))
	shifted, err := client.Profiles.Shift(profiles.Stamp{At: at, Shift: 90*time.Minute + 1})
	report["shift_err"], report["shift_diff"] = errorText(err), describe(diff("Time", shifted, at.Add(90*time.Minute+1)))
	level, err := client.Profiles.Paint(profiles.ColorGreen)
	report["paint_err"], report["paint"] = errorText(err), string(level)
	_, err = client.Profiles.Paint(profiles.Color(9))
	report["paint_unknown_err"] = errorText(err)

	if err := json.NewEncoder(os.Stdout).Encode(report); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
