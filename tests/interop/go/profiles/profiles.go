// The types and service of the round-trip proof: a struct with a field of every kind greenrpc
// maps, served and called by Go's net/rpc over gob and jsonrpc. `greenrpc gen python` reads
// this file to write the Python side, so it stays ordinary Go.
package main

import (
	"errors"
	"time"
)

// Color is an integer enum, declared with iota.
type Color int

const (
	// ColorRed is the zero Color.
	ColorRed Color = iota
	ColorGreen
	ColorBlue
)

// Level is a string enum.
type Level string

const (
	LevelDebug Level = "debug"
	LevelInfo  Level = "info"
	LevelError Level = "error"
)

// Priority is an enum on an unsigned width, so gob sends it as a uint.
type Priority uint8

const (
	PriorityLow Priority = iota + 1
	PriorityHigh
)

// UserID is a named integer type.
type UserID uint64

// Base carries what every record has.
type Base struct {
	ID        int64     `json:"id"`
	CreatedAt time.Time `json:"created_at"`
}

// Audit says who last changed a record.
type Audit struct {
	By   string
	Note string `json:"note,omitempty"`
}

// Tag is a weighted label.
type Tag struct {
	Name   string  `json:"name"`
	Weight float32 `json:"weight"`
}

// Tags is a named slice type.
type Tags []Tag

// Profile has a field of every kind: embedded structs (one by pointer), tagged and untagged
// names, omitempty, a hidden field, enums, time, durations, maps, arrays, pointers.
type Profile struct {
	Base
	*Audit
	UserID   UserID           `json:"user_id"`
	Name     string           `json:"name"`
	Email    string           `json:"email,omitempty"`
	HomeURL  string           // untagged: JSON uses the Go name
	Timeout  time.Duration    `json:"timeout"`
	Color    Color            `json:"color"`
	Level    Level            `json:"level"`
	Priority Priority         `json:"priority,omitempty"`
	Tags     Tags             `json:"tags"`
	Scores   map[string]int32 `json:"scores,omitempty"`
	ByID     map[int64]string `json:"by_id,omitempty"`
	Grid     [2][3]int8       `json:"grid"`
	Avatar   []byte           `json:"avatar,omitempty"`
	Manager  *Profile         `json:"manager,omitempty"`
	Nickname *string          `json:"nickname,omitempty"`
	Deleted  *time.Time       `json:"deleted,omitempty"`
	Secret   string           `json:"-"`
	Ratio    float64          `json:"ratio"`
	Active   bool             `json:"active"`
	Counts   []uint16         `json:"counts"`
	internal int              // unexported: never sent
}

// Stamp asks for a time shifted by a duration.
type Stamp struct {
	At    time.Time
	Shift time.Duration
}

// Profiles answers with and about profiles.
type Profiles struct{}

// Echo returns the profile it was sent.
func (p *Profiles) Echo(args *Profile, reply *Profile) error {
	*reply = *args
	return nil
}

// Check compares the profile it was sent with the sample and names the fields that differ.
func (p *Profiles) Check(args *Profile, reply *string) error {
	*reply = describe(diff("Profile", *args, sampleProfile()))
	return nil
}

// Sample returns the sample profile; n > 0 asks for one without a manager.
func (p *Profiles) Sample(n int, reply *Profile) error {
	*reply = sampleProfile()
	if n > 0 {
		reply.Manager = nil
	}
	return nil
}

// Shift adds the stamp's duration to its time.
func (p *Profiles) Shift(args *Stamp, reply *time.Time) error {
	*reply = args.At.Add(args.Shift)
	return nil
}

// Paint names a color's level; an unknown color is an error.
func (p *Profiles) Paint(args Color, reply *Level) error {
	switch args {
	case ColorRed:
		*reply = LevelError
	case ColorGreen:
		*reply = LevelInfo
	case ColorBlue:
		*reply = LevelDebug
	default:
		return errors.New("no such color")
	}
	return nil
}
