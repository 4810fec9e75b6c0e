package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/program"
)

// stageChangesKept bounds a partner's timeline of stages: a partner
// changes stage a few times a year.
const stageChangesKept = 100

// stageScript records a stage change that Go decided, if the partner's
// stage record is still the one Go read.
//
//	KEYS[1] the stage record (stageKey), KEYS[2] the timeline (stagesKey)
//	ARGV[1] the record Go read ("" for none), ARGV[2] the new record,
//	ARGV[3] the timeline entry, ARGV[4] how many entries to keep
//	returns 1 when recorded, 0 when the record moved (another run recorded
//	a change first: it decides)
var stageScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1]) or ''
if cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('LPUSH', KEYS[2], ARGV[3])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[4]) - 1)
return 1
`)

// stageRecord is the stage record's value; "" for no stage.
func stageRecord(stage program.StageName, at time.Time) string {
	if stage == "" {
		return ""
	}
	return string(stage) + " " + strconv.FormatInt(at.UnixMilli(), 10)
}

// parseStageRecord reads a stage record ("" for none).
func parseStageRecord(v string) (program.StageName, time.Time, error) {
	if v == "" {
		return "", time.Time{}, nil
	}
	name, ms, ok := strings.Cut(v, " ")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil {
		return "", time.Time{}, fmt.Errorf("program/store: malformed stage record %.40q", v)
	}
	return program.StageName(name), time.UnixMilli(n).UTC(), nil
}

// parseStageChange reads a timeline entry "<ms> <from|-> <to>".
func parseStageChange(v string) (program.StageChange, error) {
	f := strings.Fields(v)
	if len(f) != 3 {
		return program.StageChange{}, fmt.Errorf("program/store: malformed stage change %.40q", v)
	}
	ms, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return program.StageChange{}, fmt.Errorf("program/store: malformed stage change %.40q", v)
	}
	from := program.StageName(f[1])
	if from == "-" {
		from = ""
	}
	return program.StageChange{At: time.UnixMilli(ms).UTC(), From: from, To: program.StageName(f[2])}, nil
}

// RecordStage records c, a change program.NextStage decided from f, as
// the partner's stage and an entry of its timeline, only if its stage
// record is still the one f was gathered with (f.LastStage at
// f.LastStageAt). It says whether this call recorded it: of two runs that
// decided the same change from the same record, one records it and the
// other is told false, so the change is recorded, and its trigger fired,
// once.
func (s *Store) RecordStage(ctx context.Context, f program.Facts, c program.StageChange) (bool, error) {
	from := string(c.From)
	if from == "" {
		from = "-"
	}
	at := time.UnixMilli(c.At.UnixMilli()).UTC()
	entry := strconv.FormatInt(at.UnixMilli(), 10) + " " + from + " " + string(c.To)
	n, err := stageScript.Run(ctx, s.rdb, []string{stageKey(f.PartnerID), stagesKey(f.PartnerID)},
		stageRecord(f.LastStage, f.LastStageAt), stageRecord(c.To, at), entry, stageChangesKept).Int()
	if err != nil {
		return false, fmt.Errorf("program/store: record the stage of %s: %w", f.PartnerID, err)
	}
	return n == 1, nil
}
