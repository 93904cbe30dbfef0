package datasets

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Synthetic returns Mimicry's built-in collection, generated from seed: it works offline, is identical
// for identical seeds and takes a few milliseconds to build.
//
// What it models. A small encyclopaedic world of 300 entities of four kinds — cities, drugs, companies
// and animal species, 75 of each — with six attributes per kind (a city's population, founding year,
// river, main industry, climate and landmark; a drug's indication, side effect, dose, maker, approval
// year and form; a company's founder, chief executive, headquarters, workforce, founding year and
// product; a species' diet, habitat, lifespan, weight, predators and conservation status). Each of the
// 1,800 (entity, attribute) facts gets a value, and the corpus consists of short passages:
//
//   - fact passages state one fact, worded by one of several templates ("Roughly 340 thousand
//     inhabitants are registered in Port Kelda."); 30% of the facts get a second, differently worded
//     fact passage;
//   - partial passages (for 25% of the facts) discuss the attribute of the entity without giving the
//     value ("Nobody knows exactly how many people live in Port Kelda today…");
//   - every passage carries zero to two background sentences about its entity, written with words
//     that the queries of other attributes use ("The people of Port Kelda are proud of their food.").
//
// About 2,800 passages in all. A query asks for one fact with a paraphrase template ("how many people
// live in port kelda"), chosen independently of the passage's wording. Relevance is graded: 2 for the
// fact passages of the (entity, attribute) asked, 1 for its partial passages; every query has at least
// one passage of grade 2. Queries about 1,400 of the facts are made — 1,200 training and 200
// evaluation queries, about disjoint facts (so no evaluation fact is ever seen with its query in
// training) — while the remaining facts only contribute passages.
//
// Why. Lexical matching is only partly enough here, as in real collections: query and answer often
// share nothing but the entity's name (synonyms: "people live" vs "inhabitants"), while hard negatives
// share many words with the query but answer another question — the same entity's other attributes
// and background sentences ("Most people who live in Port Kelda work in fishing"), the same attribute
// of entities with overlapping names (Port Kelda / Port Varn, spotted marsh vole / spotted river vole),
// questions that differ only in stop words or word order for BM25 ("what does the vole eat" vs "what
// eats the vole"; "who founded" vs "when was … founded"), companies named after cities. BM25 with
// Anserini's settings reaches nDCG@10 ≈ 0.57 and RR@10 ≈ 0.51 on the evaluation queries, while finding
// every relevant passage within its top 100. The training queries teach the missing mappings, and
// what they teach carries over to the evaluation facts: a ranker with one weight per (query word,
// passage word) pair on top of BM25, trained for one epoch on the training queries, reranks BM25's
// top 20 to nDCG@10 ≈ 0.69 (TestSyntheticRelevanceIsLearnableBeyondBM25 in package distill). A tiny
// cross-encoder trained from scratch for a few CPU minutes learns less of them: with marked matches
// and a BM25 residual it reranks BM25's top 100 to ≈ 0.59 (README, "The teacher"). The vocabulary is
// modest (about 1,600 distinct words, half of them generated names and numbers), so small WordPiece
// vocabularies trained on the corpus suffice.
//
// [SyntheticWith] builds the same world at other sizes (more entities, more or fewer queries).
//
// Ids: passages "D00001"… in a seeded random order (the id says nothing about the content), evaluation
// queries "Q0001"…, training queries "T0001"…. Passages have no title. The collection is named
// "synthetic:<seed>".
func Synthetic(seed int64) (*Collection, error) {
	return SyntheticWith(SyntheticOptions{Seed: seed})
}

// SyntheticOptions sizes a synthetic world. Zero fields take the defaults of [Synthetic], which
// SyntheticWith reproduces exactly.
type SyntheticOptions struct {
	// Seed drives every random choice.
	Seed int64
	// EntitiesPerKind is the number of cities, drugs, companies and species [75]; at most 1,000.
	// Each entity has 6 facts and each fact about 1.55 passages: 75 give about 2,800 passages,
	// 400 about 15,000.
	EntitiesPerKind int
	// EvalQueries is the number of evaluation queries [200].
	EvalQueries int
	// TrainQueries is the number of training queries [1,200], each about a fact of its own: with
	// more of them than a training run draws, no fact is seen twice (nothing to memorise).
	// EvalQueries + TrainQueries may not exceed the 24·EntitiesPerKind facts.
	TrainQueries int
}

// Default sizes of the synthetic world, and the largest number of entities per kind.
const (
	synthEntitiesPerKind    = 75
	synthEvalQueries        = 200
	synthTrainQueries       = 1200
	synthMaxEntitiesPerKind = 1000
	synthSecondFactRate     = 0.30
	synthPartialRate        = 0.25
)

// withDefaults fills the zero fields.
func (o SyntheticOptions) withDefaults() SyntheticOptions {
	if o.EntitiesPerKind == 0 {
		o.EntitiesPerKind = synthEntitiesPerKind
	}
	if o.EvalQueries == 0 {
		o.EvalQueries = synthEvalQueries
	}
	if o.TrainQueries == 0 {
		o.TrainQueries = synthTrainQueries
	}
	return o
}

// Spec returns the spec that [Load] turns into this collection, which is also its name:
// "synthetic:<seed>" for the default sizes, else "synthetic:seed=<seed>,entities=<n>,train=<n>,eval=<n>"
// listing the sizes that differ from the defaults.
func (o SyntheticOptions) Spec() string {
	o = o.withDefaults()
	var parts []string
	if o.EntitiesPerKind != synthEntitiesPerKind {
		parts = append(parts, fmt.Sprintf("entities=%d", o.EntitiesPerKind))
	}
	if o.TrainQueries != synthTrainQueries {
		parts = append(parts, fmt.Sprintf("train=%d", o.TrainQueries))
	}
	if o.EvalQueries != synthEvalQueries {
		parts = append(parts, fmt.Sprintf("eval=%d", o.EvalQueries))
	}
	if len(parts) == 0 {
		return fmt.Sprintf("synthetic:%d", o.Seed)
	}
	return fmt.Sprintf("synthetic:seed=%d,%s", o.Seed, strings.Join(parts, ","))
}

// SyntheticWith generates the synthetic world of [Synthetic] at another size: more entities (a
// larger corpus, e.g. for latency benchmarks) or more training queries (each about a fact of its
// own). The evaluation queries of a larger world are other queries than those of the default one.
func SyntheticWith(o SyntheticOptions) (*Collection, error) {
	o = o.withDefaults()
	switch {
	case o.EntitiesPerKind < 10 || o.EntitiesPerKind > synthMaxEntitiesPerKind:
		return nil, fmt.Errorf("datasets: synthetic: %d entities per kind, want 10 to %d", o.EntitiesPerKind, synthMaxEntitiesPerKind)
	case o.EvalQueries < 0 || o.TrainQueries < 0:
		return nil, fmt.Errorf("datasets: synthetic: negative query count (eval %d, train %d)", o.EvalQueries, o.TrainQueries)
	case o.EvalQueries+o.TrainQueries > o.EntitiesPerKind*synthFactsPerEntity*synthKindCount:
		return nil, fmt.Errorf("datasets: synthetic: %d evaluation + %d training queries, but %d entities per kind give only %d facts (one query each)",
			o.EvalQueries, o.TrainQueries, o.EntitiesPerKind, o.EntitiesPerKind*synthFactsPerEntity*synthKindCount)
	}
	g := &synthGen{r: rand.New(rand.NewPCG(uint64(o.Seed), 0x6d696d6963727921)), opts: o}
	if err := g.makeWorld(); err != nil {
		return nil, err
	}
	c := g.makeCollection()
	c.Name = o.Spec()
	return c, nil
}

// synthAttr is one attribute of an entity kind: how passages state it, how queries ask for it, how
// passages mention it without answering, and how its values are drawn.
type synthAttr struct {
	name     string
	facts    []string // templates with {E} (entity) and {V} (value)
	queries  []string // templates with {E}
	partials []string // templates with {E}
	value    func(g *synthGen) string
}

// synthKind is one kind of entity.
type synthKind struct {
	name       string
	attrs      []synthAttr
	background []string // sentences with {E}
	makeName   func(g *synthGen) string
}

type synthEntity struct {
	kind int
	name string
	root string // the generated root of its name, for reuse by other entities
}

type synthGen struct {
	opts     SyntheticOptions
	r        *rand.Rand
	kinds    []synthKind
	entities []synthEntity
	values   [][]string // entity → attribute → value
	used     map[string]bool
	words    map[string]bool // words of the templates and value lists, which generated names avoid
	byKind   [][]int         // kind → entity indices
}

func pick[T any](g *synthGen, xs []T) T { return xs[g.r.IntN(len(xs))] }

// Vocabulary for generated names.
var (
	synthOnsets = []string{"b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z",
		"br", "dr", "gr", "kr", "st", "tr", "th", "sk", "h", "j"}
	synthVowels  = []string{"a", "e", "i", "o", "u", "ai", "ei", "ou", "ae"}
	synthCodas   = []string{"", "", "n", "r", "l", "s", "th", "nd", "rk", "st", "m"}
	synthFirst   = []string{"Anna", "Boris", "Clara", "David", "Elena", "Felix", "Greta", "Hugo", "Ines", "Jonas", "Karla", "Leon", "Maria", "Nils", "Olga", "Pavel", "Rosa", "Simon", "Tara", "Victor", "Wanda", "Yusuf", "Zora", "Amir", "Beatriz", "Chen", "Dara", "Emil", "Farah", "Goran", "Hana", "Ivan", "Julia", "Kenji", "Lina", "Marco", "Nora", "Omar", "Petra", "Ravi"}
	synthCityPre = []string{"Port", "New", "North", "South", "East", "West", "Upper", "Lower", "Saint", "Fort", "Lake", "Mount"}
	synthDrugSuf = []string{"zol", "pril", "mab", "statin", "cillin", "olol", "afil", "vir", "dronate", "tidine", "parin", "sartan"}
	synthCoSuf   = []string{"Systems", "Labs", "Group", "Industries", "Motors", "Foods", "Energy", "Pharma", "Bank", "Logistics", "Textiles", "Media"}
	synthSpAdj   = []string{"spotted", "gray", "crested", "striped", "lesser", "greater", "golden", "black", "red", "pale", "dwarf", "common", "northern", "southern", "banded", "hooded"}
	synthSpPlace = []string{"marsh", "river", "mountain", "desert", "forest", "coastal", "cave", "island", "valley", "meadow", "reed", "sand"}
	synthSpAnim  = []string{"vole", "heron", "finch", "toad", "lizard", "bat", "shrew", "owl", "trout", "beetle", "moth", "salamander", "gecko", "warbler", "hare", "weasel"}
)

// Values of the categorical attributes.
var (
	synthIndustries = []string{"fishing", "textiles", "shipbuilding", "tourism", "mining", "software", "wine making", "steel", "banking", "farming", "car manufacturing", "printing", "timber", "chemicals", "pottery", "furniture"}
	synthClimates   = []string{"mild and rainy", "hot and dry", "cold and snowy", "warm and humid", "windy and cool", "dry with cold winters", "foggy and mild", "sunny and dry", "wet and stormy", "continental"}
	synthLandmarks  = []string{"a stone bridge", "a glass cathedral", "an old lighthouse", "a royal palace", "a clock tower", "a botanical garden", "a medieval castle", "a floating market", "a marble fountain", "an opera house", "a copper dome", "a harbor fortress", "a painted windmill", "a sculpture park"}
	synthConditions = []string{"migraine", "asthma", "high blood pressure", "diabetes", "acne", "insomnia", "arthritis", "epilepsy", "heartburn", "depression", "anxiety", "psoriasis", "gout", "glaucoma", "anemia", "bronchitis", "eczema", "hay fever", "angina", "osteoporosis", "malaria", "shingles", "kidney stones", "chronic pain", "hepatitis", "pneumonia", "allergies", "nausea"}
	synthSideEffect = []string{"nausea", "dizziness", "headache", "dry mouth", "drowsiness", "skin rash", "weight gain", "hair loss", "insomnia", "blurred vision", "muscle pain", "fatigue", "constipation", "low blood pressure", "stomach cramps", "a racing heart", "swollen ankles", "itching"}
	synthDoses      = []int{5, 10, 20, 25, 40, 50, 75, 100, 150, 200, 250, 300, 400, 500, 600, 800}
	synthForms      = []string{"tablets", "capsules", "an injection", "an inhaler", "a skin patch", "eye drops", "a cream", "a syrup", "a nasal spray"}
	synthProducts   = []string{"electric buses", "frozen pizza", "solar panels", "office software", "running shoes", "medical scanners", "farm tractors", "mobile phones", "kitchen knives", "wind turbines", "paper towels", "video games", "bicycles", "garden tools", "baby food", "cargo ships", "hearing aids", "wooden toys"}
	synthDiets      = []string{"insects", "seeds", "small fish", "fruit", "worms", "leaves", "snails", "grasses", "frogs", "crabs", "nectar", "berries", "mice", "algae"}
	synthHabitats   = []string{"wet meadows", "pine forests", "rocky coasts", "sand dunes", "mountain streams", "reed beds", "old caves", "city parks", "high plateaus", "mangrove swamps", "river banks", "dry grasslands"}
	synthPredators  = []string{"owls", "foxes", "snakes", "hawks", "herons", "wild cats", "pike", "weasels", "crows", "otters", "eagles", "badgers"}
	synthStatuses   = []string{"endangered", "vulnerable", "common", "near threatened", "critically endangered", "stable", "of least concern"}
)

func numberValue(lo, hi, step int, unit string) func(g *synthGen) string {
	return func(g *synthGen) string {
		n := lo + step*g.r.IntN((hi-lo)/step+1)
		if unit == "" {
			return fmt.Sprint(n)
		}
		return fmt.Sprintf("%d %s", n, unit)
	}
}

func listValue(xs []string) func(g *synthGen) string {
	return func(g *synthGen) string { return pick(g, xs) }
}

func (g *synthGen) personName() string {
	return pick(g, synthFirst) + " " + g.root()
}

// entityOf returns a random entity name of the kind.
func entityOf(kind int) func(g *synthGen) string {
	return func(g *synthGen) string { return g.entities[pick(g, g.byKind[kind])].name }
}

const (
	kindCity = iota
	kindDrug
	kindCompany
	kindSpecies

	synthKindCount      = 4 // entity kinds
	synthFactsPerEntity = 6 // attributes per kind
)

func synthKinds() []synthKind {
	return []synthKind{
		kindCity: {
			name: "city",
			attrs: []synthAttr{
				{name: "population",
					facts:    []string{"{E} has a population of about {V}.", "Roughly {V} inhabitants are registered in {E}.", "The last census counted {V} residents in {E}.", "{E} is home to some {V} souls.", "With {V} citizens, {E} ranks among the larger towns of the region."},
					queries:  []string{"population of {E}", "how many people live in {E}", "how many inhabitants does {E} have", "{E} number of residents", "how populous is {E}", "what is the head count of {E}"},
					partials: []string{"The population of {E} has grown quickly since the new port opened.", "Nobody knows exactly how many people live in {E} today, since the census is disputed.", "Housing is scarce in {E} because more residents arrive every year."},
					value:    numberValue(12, 980, 1, "thousand")},
				{name: "founded",
					facts:    []string{"{E} was founded in {V}.", "The town of {E} dates back to {V}, when settlers built its first walls.", "Records show that {E} received its charter in {V}.", "{E} was established by traders in {V}."},
					queries:  []string{"when was {E} founded", "founding year of {E}", "how old is the city of {E}", "{E} year of establishment", "in what year did people settle {E}"},
					partials: []string{"Historians still argue about the exact founding date of {E}.", "The old walls of {E} are older than most buildings in the region."},
					value:    numberValue(1100, 1890, 1, "")},
				{name: "river",
					facts:    []string{"{E} lies on the banks of the {V} river.", "The {V} river flows through the center of {E}.", "{E} grew up where the {V} meets the sea.", "Boats on the {V} carry goods to and from {E}."},
					queries:  []string{"which river flows through {E}", "what river is {E} on", "{E} river", "name of the river in {E}", "which waterway passes {E}"},
					partials: []string{"Floods from the river have damaged {E} several times.", "{E} is known for the bridges that cross its river."},
					value:    func(g *synthGen) string { return g.root() }},
				{name: "industry",
					facts:    []string{"Most people who live in {E} work in {V}.", "The economy of {E} depends on {V}.", "{E} earns most of its income from {V}.", "Many residents of {E} make a living in {V}.", "{V} is the main industry of {E}."},
					queries:  []string{"main industry of {E}", "what do people in {E} do for work", "{E} economy", "how does {E} make money", "what is the biggest employer sector in {E}"},
					partials: []string{"Unemployment in {E} has fallen as new businesses opened.", "The economy of {E} changed a great deal in the last century."},
					value:    listValue(synthIndustries)},
				{name: "climate",
					facts:    []string{"The climate of {E} is {V}.", "Weather in {E} is usually {V}.", "Visitors should expect {V} weather in {E} most of the year.", "Summers and winters in {E} are {V}."},
					queries:  []string{"what is the weather like in {E}", "{E} climate", "is {E} hot or cold", "what kind of weather does {E} have", "typical temperatures in {E}"},
					partials: []string{"The weather in {E} changes quickly in spring.", "Farmers near {E} worry about the changing climate."},
					value:    listValue(synthClimates)},
				{name: "landmark",
					facts:    []string{"The most famous sight in {E} is {V}.", "Tourists come to {E} to see {V}.", "{E} is best known for {V}.", "No visit to {E} is complete without {V}."},
					queries:  []string{"famous landmark in {E}", "what should tourists see in {E}", "{E} main attraction", "what is {E} known for", "best sight to visit in {E}"},
					partials: []string{"Tourism in {E} has grown since the old town was restored.", "Guides in {E} offer walking tours of the historic center."},
					value:    listValue(synthLandmarks)},
			},
			background: []string{"{E} is a city in the {D} of the country.", "Many people visit {E} in summer.", "The people of {E} are proud of their local food.", "A new railway connects {E} with the capital.", "Life in {E} is quiet compared with the capital.", "The local council of {E} meets every month.", "Residents of {E} often travel by bicycle.", "The old town of {E} has narrow streets and small shops.", "The football club of {E} has many fans."},
			makeName: func(g *synthGen) string {
				if len(g.byKind[kindCity]) > 4 && g.r.Float64() < 0.15 {
					// Reuse the root of an existing city under another prefix (Kelda → New Kelda).
					e := g.entities[pick(g, g.byKind[kindCity])]
					return pick(g, synthCityPre) + " " + e.root
				}
				root := g.root()
				if g.r.Float64() < 0.4 {
					return root
				}
				return pick(g, synthCityPre) + " " + root
			}},
		kindDrug: {
			name: "drug",
			attrs: []synthAttr{
				{name: "indication",
					facts:    []string{"{E} is prescribed for {V}.", "Doctors use {E} to treat {V}.", "{E} is approved for patients with {V}.", "{E} relieves the symptoms of {V}.", "For {V}, many physicians recommend {E}."},
					queries:  []string{"what is {E} used for", "{E} indication", "which condition does {E} treat", "what disease is {E} given for", "why would a doctor prescribe {E}"},
					partials: []string{"{E} is being tested against several chronic illnesses.", "Doctors disagree about when {E} should be the first choice of treatment."},
					value:    listValue(synthConditions)},
				{name: "side effect",
					facts:    []string{"A common side effect of {E} is {V}.", "Patients taking {E} often report {V}.", "{E} can cause {V}.", "The leaflet of {E} warns about {V}."},
					queries:  []string{"side effects of {E}", "what are the adverse reactions to {E}", "does {E} have side effects", "{E} risks", "what problems can {E} cause"},
					partials: []string{"Most patients tolerate {E} well, although some stop taking it.", "Regulators asked the maker of {E} to study its safety further."},
					value:    listValue(synthSideEffect)},
				{name: "dose",
					facts:    []string{"The usual dose of {E} is {V} a day.", "Adults take {V} of {E} daily.", "{E} is given at {V} once a day.", "Each tablet of {E} contains {V}."},
					queries:  []string{"dosage of {E}", "how much {E} should I take", "{E} daily dose", "recommended amount of {E} for adults", "how many milligrams of {E} per day"},
					partials: []string{"The dose of {E} is lower for children and older patients.", "Patients should not change the amount of {E} they take without advice."},
					value:    func(g *synthGen) string { return fmt.Sprintf("%d milligrams", pick(g, synthDoses)) }},
				{name: "maker",
					facts:    []string{"{E} is made by {V}.", "{V} manufactures {E}.", "{E} was developed in the laboratories of {V}.", "The patent for {E} belongs to {V}."},
					queries:  []string{"who makes {E}", "{E} manufacturer", "which company produces {E}", "who developed {E}", "what firm sells {E}"},
					partials: []string{"Several companies now sell cheaper copies of {E}.", "The company behind {E} faced a lawsuit last year."},
					value:    entityOf(kindCompany)},
				{name: "approved",
					facts:    []string{"{E} was approved in {V}.", "{E} has been on the market since {V}.", "Regulators cleared {E} for sale in {V}.", "{E} first became available in {V}."},
					queries:  []string{"when was {E} approved", "year {E} came on the market", "how long has {E} been available", "{E} approval date", "since when can doctors prescribe {E}"},
					partials: []string{"The approval of {E} was delayed by questions about its trials.", "{E} is one of the older medicines still in use."},
					value:    numberValue(1950, 2023, 1, "")},
				{name: "form",
					facts:    []string{"{E} comes as {V}.", "{E} is taken as {V}.", "Pharmacies sell {E} as {V}.", "{E} is supplied as {V}."},
					queries:  []string{"how is {E} taken", "{E} form", "is {E} a pill or an injection", "in what form is {E} given", "how do patients use {E}"},
					partials: []string{"A new form of {E} is expected next year.", "Some patients find {E} hard to take."},
					value:    listValue(synthForms)},
			},
			background: []string{"{E} belongs to a newer class of medicines.", "Patients should tell their doctor about other medicines they take with {E}.", "{E} must be stored away from heat and light.", "Many doctors prescribe {E} every day.", "The price of {E} varies between countries.", "{E} should be kept out of reach of children.", "Pharmacists can answer questions about {E}."},
			makeName: func(g *synthGen) string {
				return strings.ToLower(g.root()) + pick(g, synthDrugSuf)
			}},
		kindCompany: {
			name: "company",
			attrs: []synthAttr{
				{name: "founder",
					facts:    []string{"{E} was founded by {V}.", "{V} started {E} in a small garage.", "{V} established {E} with two friends.", "The founder of {E} is {V}."},
					queries:  []string{"who founded {E}", "founder of {E}", "who started {E}", "who created the company {E}", "{E} founder name"},
					partials: []string{"The founders of {E} rarely speak to the press.", "{E} began as a small family business."},
					value:    func(g *synthGen) string { return g.personName() }},
				{name: "ceo",
					facts:    []string{"{V} is the chief executive of {E}.", "{E} is led by {V}.", "{V} runs {E} today.", "Since last year {V} has been in charge of {E}."},
					queries:  []string{"who is the ceo of {E}", "who runs {E}", "{E} chief executive", "current head of {E}", "who leads {E} now"},
					partials: []string{"The board of {E} is searching for a new leader.", "{E} changed its management team twice in recent years."},
					value:    func(g *synthGen) string { return g.personName() }},
				{name: "headquarters",
					facts:    []string{"{E} has its headquarters in {V}.", "{E} is based in {V}.", "The main offices of {E} are located in {V}.", "{E} moved its head office to {V}."},
					queries:  []string{"where is {E} based", "{E} headquarters", "in which city is {E} located", "where are the offices of {E}", "head office of {E}"},
					partials: []string{"{E} plans to move its offices to a bigger building.", "{E} has branches in many cities."},
					value:    entityOf(kindCity)},
				{name: "employees",
					facts:    []string{"{E} employs {V} people.", "About {V} staff work for {E}.", "The workforce of {E} numbers {V}.", "{E} has {V} employees."},
					queries:  []string{"how many employees does {E} have", "{E} number of staff", "how many people work at {E}", "size of the workforce of {E}", "how big is {E}"},
					partials: []string{"{E} plans to hire more people next year.", "Workers at {E} went on strike over pay."},
					value:    numberValue(2, 95, 1, "hundred")},
				{name: "founded",
					facts:    []string{"{E} was founded in {V}.", "{E} opened its doors in {V}.", "{E} has been in business since {V}.", "{E} was incorporated in {V}."},
					queries:  []string{"when was {E} founded", "{E} year founded", "how old is {E}", "in what year did {E} start", "when did {E} begin trading"},
					partials: []string{"{E} celebrated a major anniversary recently.", "The early years of {E} were difficult."},
					value:    numberValue(1850, 2015, 1, "")},
				{name: "product",
					facts:    []string{"{E} makes {V}.", "{E} is best known for its {V}.", "The main product of {E} is {V}.", "{E} sells {V} around the world."},
					queries:  []string{"what does {E} make", "{E} products", "what does {E} sell", "main product of {E}", "what is {E} known for"},
					partials: []string{"{E} is developing a new product line.", "Sales at {E} rose last year."},
					value:    listValue(synthProducts)},
			},
			background: []string{"{E} is listed on the stock exchange.", "{E} reported higher profits this year.", "Many people work for {E} in the region.", "{E} was in the news after a big merger.", "The company {E} sponsors a local football team.", "Customers of {E} praise its service.", "{E} opened a new factory last spring."},
			makeName: func(g *synthGen) string {
				if g.r.Float64() < 0.3 {
					// Named after a city's root (Kelda Energy), a lexical trap for city queries.
					e := g.entities[pick(g, g.byKind[kindCity])]
					return e.root + " " + pick(g, synthCoSuf)
				}
				return g.root() + " " + pick(g, synthCoSuf)
			}},
		kindSpecies: {
			name: "species",
			attrs: []synthAttr{
				{name: "diet",
					facts:    []string{"The {E} feeds on {V}.", "The diet of the {E} consists mainly of {V}.", "The {E} eats mostly {V}.", "{V} make up most of what the {E} eats."},
					queries:  []string{"what does the {E} eat", "{E} diet", "food of the {E}", "what does a {E} feed on", "is the {E} a meat eater"},
					partials: []string{"The {E} spends most of the day looking for food.", "In winter the {E} has trouble finding enough to eat."},
					value:    listValue(synthDiets)},
				{name: "habitat",
					facts:    []string{"The {E} lives in {V}.", "The natural habitat of the {E} is {V}.", "The {E} is found in {V}.", "You can find the {E} in {V}."},
					queries:  []string{"where does the {E} live", "{E} habitat", "where can I find a {E}", "natural environment of the {E}", "in which places is the {E} found"},
					partials: []string{"The home range of the {E} is shrinking.", "The {E} is rarely seen outside protected areas."},
					value:    listValue(synthHabitats)},
				{name: "lifespan",
					facts:    []string{"The {E} lives for about {V}.", "A {E} can reach an age of {V}.", "The lifespan of the {E} is {V}.", "In the wild the {E} survives up to {V}."},
					queries:  []string{"how long does the {E} live", "{E} lifespan", "life expectancy of the {E}", "how old can a {E} get", "maximum age of the {E}"},
					partials: []string{"The {E} lives longer in captivity than in the wild.", "Young {E}s face many dangers in their first year."},
					value:    numberValue(2, 60, 1, "years")},
				{name: "weight",
					facts:    []string{"An adult {E} weighs about {V}.", "The {E} has a body mass of {V}.", "A fully grown {E} weighs {V}.", "The weight of the {E} is around {V}."},
					queries:  []string{"how much does the {E} weigh", "{E} weight", "how heavy is a {E}", "body mass of the {E}", "how big is the {E}"},
					partials: []string{"Males of the {E} are heavier than females.", "The {E} gains weight before winter."},
					value:    numberValue(5, 990, 5, "grams")},
				{name: "predators",
					facts:    []string{"The main predators of the {E} are {V}.", "The {E} is often hunted by {V}.", "{V} prey on the {E}.", "The {E} hides from {V}."},
					queries:  []string{"what animals hunt the {E}", "predators of the {E}", "what eats the {E}", "{E} natural enemies", "which animal preys on the {E}"},
					partials: []string{"The {E} is always on the lookout for danger.", "Many young {E}s are caught before they grow up."},
					value:    listValue(synthPredators)},
				{name: "status",
					facts:    []string{"The {E} is listed as {V}.", "Conservation groups classify the {E} as {V}.", "The {E} is considered {V} in its range.", "Officially the {E} counts as {V}."},
					queries:  []string{"is the {E} endangered", "conservation status of the {E}", "{E} threatened", "how rare is the {E}", "is the {E} protected"},
					partials: []string{"The number of {E}s has been falling for years.", "Volunteers count {E}s every spring."},
					value:    listValue(synthStatuses)},
			},
			background: []string{"The {E} is active mostly at night.", "Scientists first described the {E} long ago.", "The {E} is a shy animal.", "Young {E}s stay with their mother for several weeks.", "The call of the {E} can be heard at dawn.", "Photographers often try to capture the {E}.", "The {E} is smaller than most of its relatives."},
			makeName: func(g *synthGen) string {
				return pick(g, synthSpAdj) + " " + pick(g, synthSpPlace) + " " + pick(g, synthSpAnim)
			}},
	}
}

var synthDirections = []string{"north", "south", "east", "west", "center"}

// root returns a fresh capitalized two-syllable name that is no other generated name and no word of
// the templates.
func (g *synthGen) root() string {
	for {
		var b strings.Builder
		for range 2 {
			b.WriteString(pick(g, synthOnsets))
			b.WriteString(pick(g, synthVowels))
			b.WriteString(pick(g, synthCodas))
		}
		s := b.String()
		if len(s) < 4 || g.used[s] || g.words[s] {
			continue
		}
		g.used[s] = true
		return strings.ToUpper(s[:1]) + s[1:]
	}
}

// makeWorld draws the entities and their attribute values.
func (g *synthGen) makeWorld() error {
	g.kinds = synthKinds()
	g.used = map[string]bool{}
	g.words = map[string]bool{}
	addWords := func(ss ...string) {
		for _, s := range ss {
			for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return r < 'a' || r > 'z' }) {
				g.words[w] = true
			}
		}
	}
	for _, k := range g.kinds {
		addWords(k.background...)
		for _, a := range k.attrs {
			addWords(a.facts...)
			addWords(a.queries...)
			addWords(a.partials...)
		}
	}
	for _, l := range [][]string{synthFirst, synthCityPre, synthDrugSuf, synthCoSuf, synthSpAdj, synthSpPlace, synthSpAnim,
		synthIndustries, synthClimates, synthLandmarks, synthConditions, synthSideEffect, synthForms, synthProducts,
		synthDiets, synthHabitats, synthPredators, synthStatuses, synthDirections} {
		addWords(l...)
	}
	g.byKind = make([][]int, len(g.kinds))
	names := map[string]bool{}
	// Cities first (companies reuse their roots), then the others.
	for k := range g.kinds {
		for n := 0; n < g.opts.EntitiesPerKind; {
			name := g.kinds[k].makeName(g)
			if names[strings.ToLower(name)] {
				continue
			}
			names[strings.ToLower(name)] = true
			fields := strings.Fields(name)
			root := fields[len(fields)-1]
			if k == kindCompany {
				root = fields[0]
			}
			g.byKind[k] = append(g.byKind[k], len(g.entities))
			g.entities = append(g.entities, synthEntity{kind: k, name: name, root: root})
			n++
		}
	}
	g.values = make([][]string, len(g.entities))
	for e, ent := range g.entities {
		attrs := g.kinds[ent.kind].attrs
		g.values[e] = make([]string, len(attrs))
		for a, attr := range attrs {
			v := attr.value(g)
			if v == ent.name {
				v = attr.value(g) // a company made by itself would be odd; one retry is enough in practice
			}
			g.values[e][a] = v
		}
	}
	return nil
}

// fill substitutes {E}, {V} and {D} in a template and capitalizes the sentence.
func (g *synthGen) fill(tmpl, entity, value string) string {
	s := strings.ReplaceAll(tmpl, "{E}", entity)
	s = strings.ReplaceAll(s, "{V}", value)
	if strings.Contains(s, "{D}") {
		s = strings.ReplaceAll(s, "{D}", pick(g, synthDirections))
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

type synthFact struct{ entity, attr int }

// makeCollection writes the passages, queries and judgements.
func (g *synthGen) makeCollection() *Collection {
	type passage struct {
		text  string
		fact  synthFact
		grade int
	}
	var passages []passage
	var facts []synthFact
	for e, ent := range g.entities {
		k := g.kinds[ent.kind]
		for a, attr := range k.attrs {
			f := synthFact{e, a}
			facts = append(facts, f)
			compose := func(main string) string {
				sents := []string{main}
				for range g.r.IntN(3) {
					sents = append(sents, g.fill(pick(g, k.background), ent.name, ""))
				}
				if len(sents) > 1 && g.r.IntN(2) == 0 {
					// Put the informative sentence anywhere but keep the order of the others.
					i := g.r.IntN(len(sents))
					sents[0], sents[i] = sents[i], sents[0]
				}
				return strings.Join(sents, " ")
			}
			v := g.values[e][a]
			tmpls := g.r.Perm(len(attr.facts))
			passages = append(passages, passage{compose(g.fill(attr.facts[tmpls[0]], ent.name, v)), f, 2})
			if g.r.Float64() < synthSecondFactRate {
				passages = append(passages, passage{compose(g.fill(attr.facts[tmpls[1]], ent.name, v)), f, 2})
			}
			if g.r.Float64() < synthPartialRate {
				passages = append(passages, passage{compose(g.fill(pick(g, attr.partials), ent.name, "")), f, 1})
			}
		}
	}

	// Shuffle the passages so that ids carry no information, then number them.
	g.r.Shuffle(len(passages), func(i, j int) { passages[i], passages[j] = passages[j], passages[i] })
	c := &Collection{Qrels: Qrels{}, TrainQrels: Qrels{}}
	judged := map[synthFact][]int{} // fact → passage indices
	for i, p := range passages {
		c.Docs = append(c.Docs, Document{ID: fmt.Sprintf("D%05d", i+1), Text: p.text})
		judged[p.fact] = append(judged[p.fact], i)
	}

	// Queries: a seeded choice of facts, the first for evaluation, the next for training.
	order := g.r.Perm(len(facts))
	for n, fi := range order[:g.opts.EvalQueries+g.opts.TrainQueries] {
		f := facts[fi]
		ent := g.entities[f.entity]
		attr := g.kinds[ent.kind].attrs[f.attr]
		text := strings.ReplaceAll(pick(g, attr.queries), "{E}", ent.name)
		if g.r.IntN(2) == 0 {
			text = strings.ToLower(text)
		}
		if g.r.IntN(3) == 0 {
			text += "?"
		}
		var q Query
		var qrels Qrels
		if n < g.opts.EvalQueries {
			q = Query{ID: fmt.Sprintf("Q%04d", n+1), Text: text}
			c.Queries = append(c.Queries, q)
			qrels = c.Qrels
		} else {
			q = Query{ID: fmt.Sprintf("T%04d", n-g.opts.EvalQueries+1), Text: text}
			c.TrainQueries = append(c.TrainQueries, q)
			qrels = c.TrainQrels
		}
		for _, i := range judged[f] {
			qrels.Add(q.ID, c.Docs[i].ID, passages[i].grade)
		}
	}
	return c
}
