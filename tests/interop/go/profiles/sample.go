package main

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// sampleProfile is the value both sides build; greenrpc's tests build the same one in Python.
func sampleProfile() Profile {
	nickname := "ada"
	deleted := time.Date(2024, 1, 2, 3, 4, 5, 120000000, time.UTC)
	manager := Profile{
		Base:    Base{ID: 7, CreatedAt: time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC)},
		Name:    "Grace",
		Level:   LevelDebug,
		Timeout: -2 * time.Second,
	}
	return Profile{
		Base:     Base{ID: 42, CreatedAt: time.Date(2023, 3, 14, 15, 9, 26, 535897932, time.FixedZone("", 5*3600+1800))},
		Audit:    &Audit{By: "ops"},
		UserID:   1<<63 + 5,
		Name:     "Ada Lovelace é",
		HomeURL:  "https://example.com/~ada",
		Timeout:  1500*time.Millisecond + 7,
		Color:    ColorBlue,
		Level:    LevelInfo,
		Priority: PriorityHigh,
		Tags:     Tags{{Name: "a", Weight: 1.5}, {Name: "b", Weight: -0.25}},
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
		internal: 9,
	}
}

var timeType = reflect.TypeOf(time.Time{})

// diff names the exported fields where got and want differ. Times are equal when their
// MarshalBinary forms are (instant, nanoseconds, zone offset, UTC or not); a nil slice or map
// equals an empty one, as gob cannot tell them apart.
func diff(path string, got, want interface{}) []string {
	var out []string
	diffValue(path, reflect.ValueOf(got), reflect.ValueOf(want), &out)
	return out
}

func diffValue(path string, a, b reflect.Value, out *[]string) {
	if a.Type() == timeType {
		ba, _ := a.Interface().(time.Time).MarshalBinary()
		bb, _ := b.Interface().(time.Time).MarshalBinary()
		if !bytes.Equal(ba, bb) {
			*out = append(*out, fmt.Sprintf("%s: %v != %v", path, a.Interface(), b.Interface()))
		}
		return
	}
	switch a.Kind() {
	case reflect.Ptr:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				*out = append(*out, path+": nil on one side")
			}
			return
		}
		diffValue(path, a.Elem(), b.Elem(), out)
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if a.Type().Field(i).IsExported() {
				diffValue(path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i), out)
			}
		}
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			*out = append(*out, fmt.Sprintf("%s: %d elements != %d", path, a.Len(), b.Len()))
			return
		}
		for i := 0; i < a.Len(); i++ {
			diffValue(fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i), out)
		}
	case reflect.Map:
		if a.Len() != b.Len() {
			*out = append(*out, fmt.Sprintf("%s: %d entries != %d", path, a.Len(), b.Len()))
			return
		}
		for _, key := range b.MapKeys() {
			value := a.MapIndex(key)
			if !value.IsValid() {
				*out = append(*out, fmt.Sprintf("%s[%v]: missing", path, key))
				continue
			}
			diffValue(fmt.Sprintf("%s[%v]", path, key), value, b.MapIndex(key), out)
		}
	default:
		if a.Interface() != b.Interface() {
			*out = append(*out, fmt.Sprintf("%s: %#v != %#v", path, a.Interface(), b.Interface()))
		}
	}
}

func describe(differences []string) string {
	return strings.Join(differences, "; ")
}
