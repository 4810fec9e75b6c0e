package demo_test

import (
	"fmt"
	"time"

	"github.com/longtailhq/longtail/demo"
	"github.com/longtailhq/longtail/program"
)

// The default long tail: 5,000 partners, 12,000 contacts, 8 reps, and
// the churn of its two years of history as the program view computes it.
func ExampleGenerate() {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	d, err := demo.Generate(demo.Config{Seed: 1, Now: now})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(d.Partners), "partners,", len(d.Contacts), "contacts,", len(d.Reps), "reps")
	k := program.KPIs(d.Facts(), program.DefaultConfig(), now)
	fmt.Println("churn between 15% and 30%:", k.ChurnRate >= 0.15 && k.ChurnRate <= 0.30)

	s := d.Stream()
	ev := s.Next(now)
	fmt.Println(ev.ID, ev.Source)
	// Output:
	// 5000 partners, 12000 contacts, 8 reps
	// churn between 15% and 30%: true
	// demo:1:l1 demo
}
