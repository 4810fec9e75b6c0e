package main

import (
	"context"
	"errors"
	"os"
	"strings"

	"github.com/rs/zerolog"

	"github.com/longtailhq/longtail/config"
	"github.com/longtailhq/longtail/httpapi"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/mailer"
	"github.com/longtailhq/longtail/nurture"
	"github.com/longtailhq/longtail/program/letgo"
	"github.com/longtailhq/longtail/sendonce"
	"github.com/longtailhq/longtail/tracking"
)

// trackingLinks signs the links of nurture emails with tracking.secret:
// the one-click unsubscribe URL and the tracked form of template links,
// under http.public_url.
type trackingLinks struct {
	signer *tracking.Signer
	base   string
}

func (l trackingLinks) claims(r nurture.MessageRef) tracking.Claims {
	return tracking.Claims{ContactID: r.ContactID, PartnerID: r.PartnerID, Flow: r.Flow, Step: r.Step, MessageID: r.MessageID}
}

func (l trackingLinks) Unsubscribe(r nurture.MessageRef) (string, error) {
	tok, err := l.signer.Sign(tracking.KindUnsubscribe, l.claims(r))
	if err != nil {
		return "", err
	}
	return l.base + tracking.KindUnsubscribe.Path(tok), nil
}

func (l trackingLinks) Track(r nurture.MessageRef, rawURL, topic string) (string, error) {
	c := l.claims(r)
	c.URL, c.Topic = rawURL, topic
	tok, err := l.signer.Sign(tracking.KindClick, c)
	if err != nil {
		return "", err
	}
	return l.base + tracking.KindClick.Path(tok), nil
}

// newNurture builds the nurture engine, or returns nil (nurture sending
// off, said in the log) when a part it needs is not configured: a sender
// (smtp.from, which the embedded SMTP server defaults) and tracking.secret
// (every nurture email carries a signed unsubscribe link; serve generates
// one for a run on the embedded default). from is the effective smtp.from.
func (a *app) newNurture(mail *mailer.Mailer, once *sendonce.Store, from string, log zerolog.Logger) (*nurture.Engine, error) {
	var missing []string
	if mail == nil {
		missing = append(missing, "smtp.url")
	}
	if from == "" {
		missing = append(missing, "smtp.from")
	}
	if a.cfg.Tracking.Secret == "" {
		missing = append(missing, "tracking.secret")
	}
	if len(missing) > 0 {
		log.Warn().Strs("missing", missing).Msg("nurture sending is off: no flow step runs until these are set")
		return nil, nil
	}
	if once == nil {
		return nil, errors.New("nurture: no send-once store")
	}
	lib, err := a.cfg.Nurture.Library(segmentNames(a.cfg.Scoring))
	if err != nil {
		return nil, err
	}
	rules, err := a.cfg.Nurture.SendRules()
	if err != nil {
		return nil, err
	}
	store, err := nurture.NewStore(a.st.rdb)
	if err != nil {
		return nil, err
	}
	signer, err := tracking.NewSigner([]byte(a.cfg.Tracking.Secret))
	if err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(strings.TrimSuffix(pageURL(a.cfg), "/ui/queue"), "/")
	return nurture.NewEngine(nurture.EngineConfig{
		Library: lib, Rules: rules, Store: store, Dir: a.dir, Gate: a.gate,
		Signals: nurture.ScoreSignals{Scores: a.engine}, Mailer: mail, Once: once,
		Links: trackingLinks{signer: signer, base: base}, Points: a.edge,
		From: from, UnsubscribeMailto: a.cfg.Nurture.UnsubscribeAddress(from),
		SenderDomain: a.cfg.SMTP.Sender == config.SenderDomain,
		Emails:       a.emails(),
		Ended:        a.nurtureEnded,
		Clock:        a.clock, Log: log,
	})
}

// nurtureEnded settles the partner program's let go when a last-call
// enrollment ends (a.letgo is built after the engine it needs).
func (a *app) nurtureEnded(ctx context.Context, en *nurture.Enrollment) error {
	if a.letgo == nil {
		return nil
	}
	return a.letgo.Ended(ctx, en)
}

// newLetGo is the let-go service, nil when nurture sending is off.
func (a *app) newLetGo() (*letgo.Service, error) {
	if a.nurture == nil {
		return nil, nil
	}
	return letgo.New(letgo.Config{Program: a.cfg.Program, Clock: a.clock}, a.program, a.nurture)
}

// httpFlows is the engine for the /v1/flows routes, nil when it is off.
func (a *app) httpFlows() httpapi.Flows {
	if a.nurture == nil {
		return nil
	}
	return a.nurture
}

// enqueueNurture queues steps the API asked for, nil when nurture is off.
func (a *app) enqueueNurture() func(ctx context.Context, next ...nurture.Next) error {
	if a.nurture == nil {
		return nil
	}
	return func(ctx context.Context, next ...nurture.Next) error {
		return jobs.EnqueueNurture(ctx, a.tasks, next...)
	}
}

// reloadFlows reloads this process's flows and templates from the
// configured directories (nurture.flows_dir, nurture.templates_dir, or the
// embedded sets), validated as `flows validate` does; an invalid set is
// refused and the running one kept.
func (a *app) reloadFlows(context.Context) (nurture.Reloaded, error) {
	if a.nurture == nil {
		return nurture.Reloaded{}, errors.New("nurture sending is off: no flows to reload")
	}
	return a.nurture.Reload(func() (*nurture.Library, error) {
		return a.cfg.Nurture.Library(segmentNames(a.cfg.Scoring))
	})
}

// httpReloadFlows is POST /v1/flows/reload's reload, nil when nurture is off.
func (a *app) httpReloadFlows() func(ctx context.Context) (nurture.Reloaded, error) {
	if a.nurture == nil {
		return nil
	}
	return a.reloadFlows
}

// watchReload reloads the flows on every signal from sig (SIGHUP) until
// ctx ends. A refused set is logged by the engine; serve goes on.
func (a *app) watchReload(ctx context.Context, sig <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-sig:
			if a.nurture == nil {
				a.log.Info().Msg("SIGHUP: nurture sending is off, no flows to reload")
				continue
			}
			_, _ = a.reloadFlows(ctx)
		}
	}
}
