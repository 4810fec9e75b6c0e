package program

import (
	"slices"
	"time"
)

// KPIReport is the program's figures at one time.
type KPIReport struct {
	At time.Time `json:"at"`
	// Partners, Productive and Churned sum up the cohorts: partners with
	// a join date at or before At. ChurnRate is Churned / Partners.
	Partners   int     `json:"partners"`
	Productive int     `json:"productive"`
	Churned    int     `json:"churned"`
	ChurnRate  float64 `json:"churn_rate"`
	// WithoutCohort counts partners with no join date (or one after At):
	// in no cohort and no figure above.
	WithoutCohort int `json:"without_cohort"`
	// Cohorts by quarter joined, oldest first.
	Cohorts []Cohort `json:"cohorts"`
	// Sourcing: deals and purchases of the last 12 months by origin.
	Sourcing Sourcing `json:"sourcing_12m"`
	// DealCycle: deal-to-purchase cycles whose purchase is in the last 12
	// months (see Cycles), in all and by the deal's origin.
	DealCycle DealCycle `json:"deal_cycle_12m"`
}

// Cohort is the partners that joined in one quarter.
type Cohort struct {
	Quarter  Quarter `json:"quarter"`
	Partners int     `json:"partners"`
	// Productive: members with a first result (a deal or a purchase) at
	// or before At; ProductiveShare = Productive / Partners.
	Productive      int     `json:"productive"`
	ProductiveShare float64 `json:"productive_share"`
	// TimeToProductive is the distribution of the months from joining to
	// the first result among the productive members, and its median in
	// days. A result before the join date counts as at joining.
	TimeToProductive []Bucket `json:"time_to_productive"`
	MedianDays       *float64 `json:"median_days_to_productive"`
	// ProductiveByMonth[m-1] is the share of members productive within m
	// months of joining, for every m that all members have lived through
	// by At (at most 24): the cohort chart.
	ProductiveByMonth []float64 `json:"productive_by_month"`
	// Churned: members at stage churned; ChurnRate = Churned / Partners.
	Churned   int     `json:"churned"`
	ChurnRate float64 `json:"churn_rate"`
	// Revenue: all members' purchases at or before At;
	// RevenuePerPartner = Revenue / Partners.
	Revenue           float64 `json:"revenue"`
	RevenuePerPartner float64 `json:"revenue_per_partner"`
}

// Bucket counts partners whose first result came within UpToMonths of
// joining and after the previous bucket's bound (0 months: the last
// bucket, beyond 12).
type Bucket struct {
	UpToMonths int `json:"up_to_months"`
	Count      int `json:"count"`
}

// bucketBounds are the time-to-productive buckets: 0–3, 3–6, 6–9, 9–12
// months, and beyond (0).
var bucketBounds = []int{3, 6, 9, 12, 0}

// Sourcing compares who brings the opportunities.
type Sourcing struct {
	Deals     ByOrigin `json:"deals"`
	Purchases ByOrigin `json:"purchases"`
}

// ByOrigin splits results by who brought them. PartnerShare is the
// partner-sourced count over the count with a known origin; nil when
// none has one.
type ByOrigin struct {
	Partner      Sum      `json:"partner"`
	Vendor       Sum      `json:"vendor"`
	Unknown      Sum      `json:"unknown"`
	PartnerShare *float64 `json:"partner_share"`
}

// DealCycle is the deal-to-purchase cycle, in all and by deal origin.
type DealCycle struct {
	All     CycleStats `json:"all"`
	Partner CycleStats `json:"partner"`
	Vendor  CycleStats `json:"vendor"`
}

// maxCohortMonths bounds ProductiveByMonth.
const maxCohortMonths = 24

// KPIs computes the program's figures over all partners at now.
func KPIs(all []Facts, cfg Config, now time.Time) KPIReport {
	cfg = cfg.WithDefaults()
	k := KPIReport{At: now}
	type member struct {
		f     *Facts
		first time.Time
		ok    bool
	}
	cohorts := map[Quarter][]member{}
	w12 := Last12Months(now)
	var cycles, partnerCycles, vendorCycles []Cycle
	for i := range all {
		f := &all[i]
		for _, r := range f.Deals {
			if w12.Has(r.At) {
				k.Sourcing.Deals.add(r)
			}
		}
		for _, r := range f.Purchases {
			if w12.Has(r.At) {
				k.Sourcing.Purchases.add(r)
			}
		}
		for _, c := range Cycles(*f, w12) {
			cycles = append(cycles, c)
			switch c.Deal.Origin {
			case OriginPartner:
				partnerCycles = append(partnerCycles, c)
			case OriginVendor:
				vendorCycles = append(vendorCycles, c)
			}
		}
		if !f.joined(now) {
			k.WithoutCohort++
			continue
		}
		first, ok := f.firstResult(now)
		q := QuarterOf(f.JoinedAt)
		cohorts[q] = append(cohorts[q], member{f: f, first: first, ok: ok})
	}
	k.Sourcing.Deals.share()
	k.Sourcing.Purchases.share()
	k.DealCycle = DealCycle{All: cycleStats(cycles), Partner: cycleStats(partnerCycles), Vendor: cycleStats(vendorCycles)}

	quarters := make([]Quarter, 0, len(cohorts))
	for q := range cohorts {
		quarters = append(quarters, q)
	}
	slices.SortFunc(quarters, func(a, b Quarter) int { return a.Start().Compare(b.Start()) })
	for _, q := range quarters {
		ms := cohorts[q]
		c := Cohort{Quarter: q, Partners: len(ms)}
		for _, b := range bucketBounds {
			c.TimeToProductive = append(c.TimeToProductive, Bucket{UpToMonths: b})
		}
		var ttp []float64
		latest := ms[0].f.JoinedAt
		for _, m := range ms {
			if m.f.JoinedAt.After(latest) {
				latest = m.f.JoinedAt
			}
			c.Revenue += sumIn(m.f.Purchases, Window{From: time.Time{}, To: now}).Value
			if Stage(*m.f, cfg, now) == Churned {
				c.Churned++
			}
			if !m.ok {
				continue
			}
			c.Productive++
			ttp = append(ttp, max(days(m.first.Sub(m.f.JoinedAt)), 0))
			placed := false
			for i, b := range bucketBounds {
				if b > 0 && !m.first.After(m.f.JoinedAt.AddDate(0, b, 0)) {
					c.TimeToProductive[i].Count++
					placed = true
					break
				}
			}
			if !placed {
				c.TimeToProductive[len(bucketBounds)-1].Count++
			}
		}
		c.MedianDays = median(ttp)
		for mo := 1; mo <= maxCohortMonths && !latest.AddDate(0, mo, 0).After(now); mo++ {
			n := 0
			for _, m := range ms {
				if m.ok && !m.first.After(m.f.JoinedAt.AddDate(0, mo, 0)) {
					n++
				}
			}
			c.ProductiveByMonth = append(c.ProductiveByMonth, ratio(n, len(ms)))
		}
		c.ProductiveShare = ratio(c.Productive, c.Partners)
		c.ChurnRate = ratio(c.Churned, c.Partners)
		c.RevenuePerPartner = c.Revenue / float64(c.Partners)
		k.Partners += c.Partners
		k.Productive += c.Productive
		k.Churned += c.Churned
		k.Cohorts = append(k.Cohorts, c)
	}
	k.ChurnRate = ratio(k.Churned, k.Partners)
	return k
}

func (b *ByOrigin) add(r Result) {
	var s *Sum
	switch r.Origin {
	case OriginPartner:
		s = &b.Partner
	case OriginVendor:
		s = &b.Vendor
	default:
		s = &b.Unknown
	}
	s.Count++
	s.Value += r.Value
}

func (b *ByOrigin) share() {
	if known := b.Partner.Count + b.Vendor.Count; known > 0 {
		v := ratio(b.Partner.Count, known)
		b.PartnerShare = &v
	}
}

func ratio(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}
