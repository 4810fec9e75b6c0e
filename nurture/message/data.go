package message

// Data is what a nurture template sees: {{.Contact.FirstName}},
// {{.Partner.Name}}, {{.Rep.Signature}}, {{.UnsubscribeURL}}. A template
// that names anything else fails at load, never at send.
type Data struct {
	Contact Contact
	Partner Partner
	// Rep is who the email is from: the partner's owner rep, the flow's
	// rep, or the default sender (smtp.from) with its display name.
	Rep Rep
	// UnsubscribeURL is the contact's one-click unsubscribe link.
	UnsubscribeURL string
}

// Contact is the person the email goes to.
type Contact struct {
	FirstName, LastName, Email, Persona string
}

// Partner is the contact's company.
type Partner struct {
	Name, Type, Tier string
}

// Rep is the sender. Signature is free text, several lines.
type Rep struct {
	Name, Email, Phone, Signature string
}

// SampleData is a complete, plausible Data: what `longtail flows validate`
// renders every template with, and what previews show without a contact.
func SampleData() Data {
	return Data{
		Contact: Contact{FirstName: "Jane", LastName: "Doe", Email: "jane.doe@acme-networks.example", Persona: "owner-manager"},
		Partner: Partner{Name: "Acme Networks", Type: "MSP", Tier: "silver"},
		Rep: Rep{
			Name: "Camille Martin", Email: "camille.martin@vendor.example", Phone: "+33 1 23 45 67 89",
			Signature: "Camille Martin\nPartner Account Manager, Vendor\n+33 1 23 45 67 89",
		},
		UnsubscribeURL: "https://longtail.vendor.example/u/sample-token",
	}
}

// sparseData is the least a send has: an address, a rep's name and email,
// and the unsubscribe link. Templates render it too at load, so that the
// {{else}} side of every {{with .Contact.FirstName}} is checked as well.
func sparseData() Data {
	return Data{
		Contact:        Contact{Email: "someone@partner.example"},
		Rep:            Rep{Name: "Vendor Partner Team", Email: "partners@vendor.example"},
		UnsubscribeURL: "https://longtail.vendor.example/u/sample-token",
	}
}
