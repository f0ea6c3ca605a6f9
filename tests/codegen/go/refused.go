// Declarations greenrpc gen python must leave out or refuse, each for a reason it names.
package store

import (
	"database/sql"
	"sync"
)

// Handler is a function type: nothing to send.
type Handler func(string) error

// Events is a channel type.
type Events chan string

// Box is generic.
type Box[T any] struct {
	Value T
}

// IntBox instantiates a generic type.
type IntBox struct {
	Box Box[int]
}

// hidden has only unexported fields.
type hidden struct {
	count int
	name  string
}

// Secretive has only unexported fields, though its name is exported.
type Secretive struct {
	mu    sync.Mutex
	state int
}

// Wave is complex.
type Wave struct {
	Amplitude complex128
}

// Row uses a type from another package.
type Row struct {
	Name sql.NullString
}

// Uses needs a refused type.
type Uses struct {
	W Wave
}

// Shape has a method set: gob would need registered concrete types.
type Shape interface {
	Area() float64
}

// Drawing holds an interface with methods.
type Drawing struct {
	Main Shape
}

// Job keeps its channel and callback out of the wire, and sends the rest.
type Job struct {
	ID       int64
	Done     chan struct{} `json:"-"`
	Callback func()
	Labels   map[string]string `json:"labels,omitempty"`
}

// Quoted uses the ,string option.
type Quoted struct {
	N int `json:",string"`
}

// Inline has an anonymous struct field.
type Inline struct {
	Point struct{ X, Y int }
}

// Keyed has a map with array keys, which JSON objects cannot have.
type Keyed struct {
	M map[[2]int]string
}

// Store is a service whose methods use refused and accepted types.
type Store struct{}

// Put stores a job.
func (s *Store) Put(args *Job, reply *int64) error { return nil }

// Draw cannot be generated.
func (s *Store) Draw(args *Drawing, reply *bool) error { return nil }

// helper is no RPC method.
func (s *Store) helper() {}

// Stream is no RPC method either: its reply is not a pointer.
func (s *Store) Stream(args int, reply int) error { return nil }
