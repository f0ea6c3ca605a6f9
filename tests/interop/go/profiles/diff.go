package main

// diff is shared with the program built on `greenrpc gen go` output (tests/interop/go/genclient):
// it knows no type of this package.

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"time"
)

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
