// Package demo generates the synthetic long tail `longtail demo` runs on:
// reps, partners of every type and tier, their contacts, two years of
// program history (joins, departures, registered deals and purchases,
// recent engagement) and a live stream of engagement events with a
// long-tail distribution: most partners silent, a few percent warming up,
// a handful hot enough to reach a rep's queue within the first minute.
//
// Everything is a pure function of Config: the same seed and time give
// the same data set and the same stream, event ids included, so a test can
// compute what the service must show (Dataset.Facts gives the program
// view's facts as the events will record them). Nothing here talks to
// Redis, HTTP or the task queue: cmd/longtail imports the data set through
// the CSV importer and posts the events through the ingest edge, the paths
// real data takes.
package demo
