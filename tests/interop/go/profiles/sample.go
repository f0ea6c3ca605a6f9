package main

import "time"

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
