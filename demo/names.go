package demo

// Word lists the generator draws names from. Company names are a stem
// (two halves) and a word of the partner's trade; people's names follow
// the contact's locale.

var stemHeads = []string{
	"Blue", "North", "Silver", "Red", "Green", "Iron", "Stone", "Clear", "Bright", "High",
	"Deep", "Swift", "True", "Open", "Star", "Sun", "Oak", "Pine", "Cedar", "Maple",
	"Frost", "Storm", "Sky", "Sea", "Gold", "West", "East", "South", "Fair", "Wild",
}

var stemTails = []string{
	"peak", "wind", "bridge", "field", "gate", "stone", "wave", "path", "point", "line",
	"forge", "works", "ridge", "view", "haven", "crest", "brook", "port", "wood", "light",
	"mark", "side", "dale", "ford", "core", "spring", "stack", "link", "shore", "vale",
}

// tradeWords are the words a partner's name carries for its type.
var tradeWords = map[string][]string{
	"VAR":        {"IT", "Systems", "Technologies", "Computing"},
	"MSP":        {"Managed IT", "Cloud Ops", "IT Care", "Networks"},
	"SI":         {"Integration", "Solutions", "Digital"},
	"ISV":        {"Software", "Labs", "Apps"},
	"hoster":     {"Hosting", "Datacenter", "Cloud"},
	"training":   {"Academy", "Training", "Learning"},
	"wholesaler": {"Distribution", "Supply", "Trade"},
	"consulting": {"Consulting", "Advisory", "Partners"},
}

// partnerTypes are the seed's types with their share of the long tail
// (alliance partners are a handful of named accounts, not a long tail).
var partnerTypes = []weighted[string]{
	{"VAR", 30}, {"MSP", 22}, {"SI", 10}, {"ISV", 8}, {"hoster", 8},
	{"training", 5}, {"wholesaler", 4}, {"consulting", 13},
}

// tiers are the program's default ladder with their share: most of the
// tail is at the bottom.
var tiers = []weighted[string]{{"registered", 70}, {"silver", 22}, {"gold", 8}}

// country is where a partner is, with its zones, language and region.
type country struct {
	code, region, locale, legal string
	zones                       []string
}

var countries = []weighted[country]{
	{country{"FR", "emea", "fr", "SAS", []string{"Europe/Paris"}}, 24},
	{country{"BE", "emea", "fr", "SRL", []string{"Europe/Brussels"}}, 4},
	{country{"GB", "emea", "en", "Ltd", []string{"Europe/London"}}, 14},
	{country{"IE", "emea", "en", "Ltd", []string{"Europe/Dublin"}}, 3},
	{country{"NL", "emea", "en", "BV", []string{"Europe/Amsterdam"}}, 5},
	{country{"DE", "emea", "en", "GmbH", []string{"Europe/Berlin"}}, 10},
	{country{"US", "na", "en", "Inc", []string{"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"}}, 24},
	{country{"CA", "na", "en", "Inc", []string{"America/Toronto", "America/Vancouver"}}, 4},
	{country{"CA", "na", "fr", "Inc", []string{"America/Montreal"}}, 2},
	{country{"AU", "apac", "en", "Pty Ltd", []string{"Australia/Sydney", "Australia/Perth"}}, 6},
	{country{"SG", "apac", "en", "Pte Ltd", []string{"Asia/Singapore"}}, 4},
}

var firstNames = map[string][]string{
	"en": {"James", "Mary", "Robert", "Linda", "Michael", "Sarah", "David", "Emma", "Daniel", "Olivia",
		"Thomas", "Grace", "Peter", "Chloe", "Andrew", "Hannah", "Mark", "Laura", "Paul", "Amy",
		"Steven", "Rachel", "Kevin", "Megan", "Brian", "Sophie", "Jason", "Lucy", "Ryan", "Kate"},
	"fr": {"Camille", "Lucas", "Léa", "Hugo", "Manon", "Louis", "Chloé", "Jules", "Inès", "Nathan",
		"Sarah", "Théo", "Julie", "Antoine", "Claire", "Maxime", "Pauline", "Nicolas", "Elise", "Julien",
		"Céline", "Romain", "Anaïs", "Mathieu", "Lucie", "Benoît", "Margaux", "Arnaud", "Émilie", "Olivier"},
}

var lastNames = map[string][]string{
	"en": {"Smith", "Johnson", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Walker", "Wright", "Hughes",
		"Green", "Hall", "Wood", "Clarke", "Turner", "Hill", "Moore", "Cooper", "Ward", "Morris",
		"King", "Baker", "Harris", "Lewis", "Young", "Allen", "Scott", "Adams", "Mitchell", "Carter"},
	"fr": {"Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
		"Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
		"Morel", "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Legrand"},
}

// personas of the contacts after a partner's first (its owner or
// manager): the shipped flows speak to owner-manager and technical; sales
// and marketing people are in the directory and get no flow.
var otherPersonas = []weighted[string]{{"technical", 50}, {"sales", 35}, {"marketing", 15}}

var titles = map[string][]string{
	"owner-manager": {"Managing Director", "CEO", "Founder", "General Manager"},
	"technical":     {"CTO", "Systems Engineer", "Solutions Architect", "IT Manager"},
	"sales":         {"Account Manager", "Sales Director", "Business Developer"},
	"marketing":     {"Marketing Manager", "Partner Marketing Lead"},
}
