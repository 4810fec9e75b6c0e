package scoring

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

func evalshaUsec(t *testing.T, rdb *redis.Client) string {
	info := rdb.Info(t.Context(), "commandstats").Val()
	var out []string
	for _, l := range strings.Split(info, "\r\n") {
		if strings.HasPrefix(l, "cmdstat_") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestProfTmp(t *testing.T) {
	if os.Getenv("PROF") == "" {
		t.Skip()
	}
	b := setup(t, Config{})
	ctx := b.ctx
	n := 4000
	type c struct {
		keys []string
		args []any
	}
	var calls []c
	for i := range n {
		cid := "c" + strconv.Itoa(i)
		tg := Target{PartnerID: "p" + strconv.Itoa(i%2000), ContactID: cid}
		args, err := b.eng.applyArgs(tg, contactEvents(cid, t0), t0)
		if err != nil {
			t.Fatal(err)
		}
		calls = append(calls, c{applyKeys(tg), args})
	}
	run := func(name string, s *redis.Script) {
		if err := s.Load(ctx, b.rdb).Err(); err != nil {
			t.Fatal(err)
		}
		b.rdb.ConfigResetStat(ctx)
		for st := 0; st < n; st += 40 {
			p := b.rdb.Pipeline()
			for _, cl := range calls[st : st+40] {
				s.EvalSha(ctx, p, cl.keys, cl.args...)
			}
			if _, err := p.Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("%s:\n%s", name, evalshaUsec(t, b.rdb))
	}
	run("trivial", redis.NewScript("return 1"))
	src := os.Getenv("PROFSRC")
	if src != "" {
		bs, _ := os.ReadFile(src)
		run("variant", redis.NewScript(string(bs)))
	} else {
		run("apply", applyScript)
	}
	if src != "" {
		d := b.rdb.HGetAll(ctx, "dbg").Val()
		t.Logf("dbg %v", d)
	}
}
