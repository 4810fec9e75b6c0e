package main

import (
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/config"
	"github.com/longtailhq/longtail/webhook"
	"github.com/longtailhq/longtail/webhook/brevo"
	"github.com/longtailhq/longtail/webhook/mailgun"
	"github.com/longtailhq/longtail/webhook/mandrill"
	"github.com/longtailhq/longtail/webhook/postmark"
	"github.com/longtailhq/longtail/webhook/sendgrid"
	"github.com/longtailhq/longtail/webhook/ses"
	"github.com/longtailhq/longtail/webhook/zoom"
)

// buildProviders constructs every provider that has credentials; the rest
// stay off and their routes answer 404.
func buildProviders(w config.Webhooks, rdb redis.UniversalClient) ([]webhook.Provider, error) {
	var out []webhook.Provider
	add := func(name string, p webhook.Provider, err error) error {
		if err != nil {
			return fmt.Errorf("webhooks.%s: %w", name, err)
		}
		out = append(out, p)
		return nil
	}
	maxAge := w.ReplayWindow()
	if w.SendGrid.PublicKey != "" {
		p, err := sendgrid.New(sendgrid.Config{PublicKey: w.SendGrid.PublicKey, MaxAge: maxAge})
		if err := add("sendgrid", p, err); err != nil {
			return nil, err
		}
	}
	if w.Mailgun.SigningKey != "" {
		cfg := mailgun.Config{SigningKey: w.Mailgun.SigningKey, MaxAge: maxAge}
		if w.Mailgun.ReplayCacheOn(maxAge) {
			cfg.Tokens = mailgun.NewRedisTokenCache(rdb)
		}
		p, err := mailgun.New(cfg)
		if err := add("mailgun", p, err); err != nil {
			return nil, err
		}
	}
	if w.Postmark.BasicAuth != "" {
		p, err := postmark.New(postmark.Config{BasicAuth: w.Postmark.BasicAuth})
		if err := add("postmark", p, err); err != nil {
			return nil, err
		}
	}
	if w.SES.Enabled {
		p, err := ses.New(ses.Config{CertDir: w.SES.CertDir, TopicARNs: w.SES.TopicARNs, MaxAge: maxAge})
		if err := add("ses", p, err); err != nil {
			return nil, err
		}
	}
	if w.Mandrill.Key != "" {
		p, err := mandrill.New(mandrill.Config{Key: w.Mandrill.Key, URL: w.Mandrill.URL})
		if err := add("mandrill", p, err); err != nil {
			return nil, err
		}
	}
	if w.Brevo.Token != "" {
		p, err := brevo.New(brevo.Config{Token: w.Brevo.Token})
		if err := add("brevo", p, err); err != nil {
			return nil, err
		}
	}
	if w.Zoom.SecretToken != "" {
		p, err := zoom.New(zoom.Config{SecretToken: w.Zoom.SecretToken, MaxAge: maxAge})
		if err := add("zoom", p, err); err != nil {
			return nil, err
		}
	}
	return out, nil
}
