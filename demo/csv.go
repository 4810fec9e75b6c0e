package demo

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"
)

// The data set as the CSV files `longtail import` reads (README "CSV
// formats"), so the demo loads its directory through the importer: the
// same validation, batching and contact.created triggers as a real file.

// WriteRepsCSV writes the reps (timezone, a column the importer does not
// know, is kept as the attribute that sets a rep's own business hours).
func (d *Dataset) WriteRepsCSV(w io.Writer) error {
	rows := [][]string{{"id", "name", "email", "phone", "regions", "daily_capacity", "active", "signature", "timezone"}}
	for _, r := range d.Reps {
		rows = append(rows, []string{r.ID, r.Name, r.Email, r.Phone, strings.Join(r.Regions, ";"),
			strconv.Itoa(r.DailyCapacity), "true", r.Signature, r.Timezone})
	}
	return writeAll(w, rows)
}

// WritePartnersCSV writes the partners, with their join and leave dates.
func (d *Dataset) WritePartnersCSV(w io.Writer) error {
	rows := [][]string{{"id", "name", "type", "tier", "region", "country", "timezone", "owner_rep_id", "tags", "website", "joined_at", "left_at"}}
	for _, p := range d.Partners {
		rows = append(rows, []string{p.ID, p.Name, p.Type, p.Tier, p.Region, p.Country, p.Timezone, p.OwnerRepID,
			strings.Join(p.Tags, ";"), p.Website, dateOrEmpty(p.JoinedAt), dateOrEmpty(p.LeftAt)})
	}
	return writeAll(w, rows)
}

// WriteContactsCSV writes the contacts.
func (d *Dataset) WriteContactsCSV(w io.Writer) error {
	rows := [][]string{{"id", "partner_id", "email", "first_name", "last_name", "persona", "timezone", "locale", "consent", "title"}}
	for _, c := range d.Contacts {
		rows = append(rows, []string{c.ID, c.PartnerID, c.Email, c.FirstName, c.LastName, c.Persona, c.Timezone, c.Locale, c.Consent, c.Title})
	}
	return writeAll(w, rows)
}

func writeAll(w io.Writer, rows [][]string) error {
	cw := csv.NewWriter(w)
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	return cw.Error()
}

func dateOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}
