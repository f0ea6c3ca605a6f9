package main

// `profiles capture` prints the byte vectors in tests/vectors/go_types.json: how Go's
// encoding/json and encoding/gob write time.Time, time.Duration, enums, embedded structs and the
// sample profile, and how encoding/json reads times and promoted fields.

import (
	"bytes"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// Embedding cases (encoding/json's typeFields and dominantField).
type Left struct {
	X int
	Y int
}

type Right struct {
	X int
	Z int
}

// Ambiguous embeds two X at the same depth: neither is encoded.
type Ambiguous struct {
	Left
	Right
}

// Shadowed has its own X, which hides the embedded one.
type Shadowed struct {
	Left
	X string
}

type Plain struct{ N int }

type Tagged struct {
	M int `json:"N"`
}

// TagWins embeds two N at one depth; the tagged one wins.
type TagWins struct {
	Plain
	Tagged
}

// ByPointer embeds a pointer, nil or not.
type ByPointer struct {
	*Left
	W int
}

// NamedEmbed gives the embedded struct a JSON name: it is not promoted.
type NamedEmbed struct {
	Left `json:"left"`
	W    int
}

// Deep promotes through two levels.
type Deep struct {
	Shadowed
	V int
}

type timeCase struct {
	Name   string `json:"name"`
	JSON   string `json:"json"`
	Binary string `json:"binary"`
	Gob    string `json:"gob"`
	Unix   int64  `json:"unix"`
	Nanos  int    `json:"nanos"`
	Offset int    `json:"offset"`
	UTC    bool   `json:"utc"`
}

type parseCase struct {
	Text   string `json:"text"`
	Error  string `json:"error"`
	Unix   int64  `json:"unix"`
	Nanos  int    `json:"nanos"`
	Offset int    `json:"offset"`
	UTC    bool   `json:"utc"`
}

type valueCase struct {
	Name string `json:"name"`
	Type string `json:"type"`
	JSON string `json:"json"`
	Gob  string `json:"gob,omitempty"`
}

type decodeCase struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	Input  string `json:"input"`
	Output string `json:"output"`
	Error  string `json:"error"`
}

// gobHex encodes value in a fresh process (`profiles gob KEY`), since Go numbers gob types
// per process: the capture shows what a fresh peer's stream holds.
func gobHex(key string) string {
	if inChild {
		return ""
	}
	out, err := exec.Command(os.Args[0], "gob", key).Output()
	if err != nil {
		panic(fmt.Sprintf("gob %s: %v", key, err))
	}
	return strings.TrimSpace(string(out))
}

var inChild bool

// gobValues holds every value whose gob stream is captured, by key.
var gobValues = map[string]interface{}{}

func encodeGob(key string) {
	inChild = true
	times()
	values()
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(gobValues[key]); err != nil {
		fail(err)
	}
	fmt.Println(hex.EncodeToString(buf.Bytes()))
}

func valueCaseOf(name, typeName string, value interface{}) valueCase {
	gobValues[name] = value
	return valueCase{name, typeName, jsonText(value), gobHex(name)}
}

func jsonText(value interface{}) string {
	data, err := json.Marshal(value)
	if err != nil {
		panic(err)
	}
	return string(data)
}

func isUTC(t time.Time) bool { return t.Location() == time.UTC }

func times() []timeCase {
	cases := []struct {
		name string
		t    time.Time
	}{
		{"zero", time.Time{}},
		{"utc_nanos", time.Date(2023, 3, 14, 15, 9, 26, 535897932, time.UTC)},
		{"india_trailing_zeros", time.Date(2023, 3, 14, 15, 9, 26, 500000000, time.FixedZone("IST", 5*3600+1800))},
		{"west_whole_second", time.Date(2001, 2, 3, 4, 5, 6, 0, time.FixedZone("", -7*3600))},
		{"offset_zero_not_utc", time.Date(2020, 6, 1, 12, 0, 0, 1000, time.FixedZone("", 0))},
		{"offset_seconds", time.Date(1900, 1, 1, 0, 0, 0, 0, time.FixedZone("LMT", 3600+30*60+15))},
		{"last_nanosecond", time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		{"year_one", time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC)},
		{"epoch", time.Unix(0, 0).UTC()},
		{"microseconds", time.Date(2022, 2, 2, 2, 2, 2, 123456000, time.UTC)},
		{"moon_landing", time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC)},
		{"negative_offset_minutes", time.Date(2010, 10, 10, 10, 10, 10, 10, time.FixedZone("", -(9*3600+30*60)))},
	}
	var out []timeCase
	for _, c := range cases {
		binary, err := c.t.MarshalBinary()
		if err != nil {
			panic(err)
		}
		_, offset := c.t.Zone()
		gobValues["time_"+c.name] = c.t
		out = append(out, timeCase{c.name, jsonText(c.t), hex.EncodeToString(binary), gobHex("time_" + c.name),
			c.t.Unix(), c.t.Nanosecond(), offset, isUTC(c.t)})
	}
	return out
}

func parses() []parseCase {
	texts := []string{
		`"2023-03-14T15:09:26Z"`, `"2023-03-14T15:09:26.5+05:30"`, `"2023-03-14T15:09:26.123456789123Z"`,
		`"2023-03-14T15:09:26,5Z"`, `"2023-03-14t15:09:26Z"`, `"2023-03-14T15:09:26z"`,
		`"2023-03-14 15:09:26Z"`, `"2023-03-14T15:09:26"`, `"2023-03-14T15:09:26+0530"`,
		`"2023-02-30T00:00:00Z"`, `"2023-03-14T24:00:00Z"`, `"2023-03-14T15:09:60Z"`,
		`"2023-03-14T15:60:00Z"`, `"2023-13-01T00:00:00Z"`, `"2023-03-14T15:09:26.Z"`,
		`"2023-3-14T15:09:26Z"`, `"2023-03-14T15:09:26+23:59"`, `"2023-03-14T15:09:26-00:00"`,
		`"2023-03-14T15:09:26+00:00"`, `"2024-02-29T00:00:00Z"`, `"2023-03-14T15:09:26Z "`,
		`"1969-07-20T20:17:40.000000001-01:00"`, `"9999-12-31T23:59:59.999999999Z"`,
		`""`, `"garbage"`, `12`, `true`, `null`,
	}
	var out []parseCase
	for _, text := range texts {
		var t time.Time
		c := parseCase{Text: text}
		if err := json.Unmarshal([]byte(text), &t); err != nil {
			c.Error = err.Error()
		} else {
			_, c.Offset = t.Zone()
			c.Unix, c.Nanos, c.UTC = t.Unix(), t.Nanosecond(), isUTC(t)
		}
		out = append(out, c)
	}
	return out
}

func values() []valueCase {
	nick := "n"
	durations := []time.Duration{0, 1, 1500*time.Millisecond + 7, -2 * time.Second, time.Hour,
		1<<63 - 1, -1 << 63}
	var out []valueCase
	for _, d := range durations {
		out = append(out, valueCaseOf(fmt.Sprintf("duration_%d", int64(d)), "time.Duration", d))
	}
	left := &Left{X: 1, Y: 2}
	out = append(out,
		valueCaseOf("color", "Color", ColorBlue),
		valueCaseOf("level", "Level", LevelError),
		valueCaseOf("priority", "Priority", PriorityHigh),
		valueCaseOf("sample", "Profile", sampleProfile()),
		valueCaseOf("zero_profile", "Profile", Profile{}),
		valueCaseOf("stamp", "Stamp", Stamp{time.Date(2023, 3, 14, 15, 9, 26, 535897932, time.UTC), 90 * time.Minute}),
		valueCaseOf("pointers_set", "Profile", Profile{Nickname: &nick, Audit: &Audit{}}),
		valueCaseOf("ambiguous", "Ambiguous", Ambiguous{Left{1, 2}, Right{3, 4}}),
		valueCaseOf("shadowed", "Shadowed", Shadowed{Left{1, 2}, "outer"}),
		valueCaseOf("tag_wins", "TagWins", TagWins{Plain{1}, Tagged{2}}),
		valueCaseOf("by_pointer_nil", "ByPointer", ByPointer{W: 3}),
		valueCaseOf("by_pointer", "ByPointer", ByPointer{left, 3}),
		valueCaseOf("named_embed", "NamedEmbed", NamedEmbed{Left{1, 2}, 3}),
		valueCaseOf("deep", "Deep", Deep{Shadowed{Left{1, 2}, "s"}, 4}),
	)
	return out
}

func decodes() []decodeCase {
	cases := []struct {
		name, input string
		into        func() interface{}
	}{
		{"profile_case_folded", `{"USER_ID": 5, "Name": "x", "homeurl": "h", "ID": 3, "Created_At": "2023-01-01T00:00:00Z", "by": "me", "NOTE": "n", "Secret": "no", "-": "dash", "timeout": 1000, "color": 2, "level": "info", "PRIORITY": 1}`, func() interface{} { return new(Profile) }},
		{"profile_nulls", `{"id": null, "created_at": null, "By": null, "tags": null, "manager": null, "deleted": null, "grid": null}`, func() interface{} { return new(Profile) }},
		{"ambiguous_ignored", `{"X": 9, "Y": 1, "Z": 2}`, func() interface{} { return new(Ambiguous) }},
		{"shadowed_outer", `{"X": "o", "Y": 5}`, func() interface{} { return new(Shadowed) }},
		{"tag_wins", `{"N": 8}`, func() interface{} { return new(TagWins) }},
		{"by_pointer_allocates", `{"Y": 4}`, func() interface{} { return new(ByPointer) }},
		{"by_pointer_stays_nil", `{"W": 4}`, func() interface{} { return new(ByPointer) }},
		{"named_embed", `{"left": {"X": 1}, "X": 5, "W": 2}`, func() interface{} { return new(NamedEmbed) }},
		{"deep", `{"y": 3, "x": "s", "V": 1}`, func() interface{} { return new(Deep) }},
		{"duration_float", `{"timeout": 1.5}`, func() interface{} { return new(Profile) }},
		{"duration_string", `{"timeout": "1s"}`, func() interface{} { return new(Profile) }},
		{"time_number", `{"created_at": 12}`, func() interface{} { return new(Profile) }},
		{"color_string", `{"color": "blue"}`, func() interface{} { return new(Profile) }},
		{"priority_negative", `{"priority": -1}`, func() interface{} { return new(Profile) }},
	}
	var out []decodeCase
	for _, c := range cases {
		into := c.into()
		d := decodeCase{Name: c.name, Type: fmt.Sprintf("%T", into)[6:], Input: c.input}
		if err := json.Unmarshal([]byte(c.input), into); err != nil {
			d.Error = err.Error()
		} else {
			d.Output = jsonText(into)
		}
		out = append(out, d)
	}
	return out
}

func capture() {
	vectors := map[string]interface{}{
		"go_version": runtime.Version(),
		"notes": "Captured by tests/interop/go/profiles (profiles capture): Go's encoding/json and " +
			"encoding/gob on time.Time, time.Duration, enums, embedded structs and the sample Profile.",
		"times":   times(),
		"parses":  parses(),
		"values":  values(),
		"decodes": decodes(),
	}
	encoder := json.NewEncoder(stdout)
	encoder.SetIndent("", " ")
	encoder.SetEscapeHTML(false)
	if err := encoder.Encode(vectors); err != nil {
		panic(err)
	}
}
