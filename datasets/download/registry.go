package download

import (
	"fmt"
	"slices"
	"strings"
)

// Entry describes one downloadable collection or file.
type Entry struct {
	// Name identifies the entry (e.g. "cranfield", "scifact") and names its directory in the cache.
	Name string
	// URL is where the file is downloaded from.
	URL string
	// SHA256 is the expected hex SHA-256 of the downloaded file. Empty means not known in advance: the
	// first download's sum is then recorded in the cache (checksums.json) and later downloads must match
	// it ("trust on first use").
	SHA256 string
	// MD5 is the hex MD5 the upstream publishes, verified as well when set.
	MD5 string
	// Subdir is the directory inside the unpacked archive that holds the data (BEIR's zips unpack into
	// "<name>/"); empty when the files lie at the top.
	Subdir string
	// Loader says how datasets.Load reads the installed entry: "smart", "beir" or "msmarco"; empty for
	// single files (teacher scores, hard negatives), which the datasets readers open directly.
	Loader string
	// Description says what the entry is, with its size when known.
	Description string
}

// Spec returns the datasets.Load spec for an entry installed at path (as Install returns it), or "" for
// entries that are single files.
func (e Entry) Spec(path string) string {
	if e.Loader == "" {
		return ""
	}
	return e.Loader + ":" + path
}

// fileName returns the name of the downloaded file: the last element of the URL's path.
func (e Entry) fileName() string {
	u := e.URL
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	return u[strings.LastIndexByte(u, '/')+1:]
}

// archiveKind tells from the file name whether the download is an archive to unpack.
func archiveKind(name string) string {
	switch n := strings.ToLower(name); {
	case strings.HasSuffix(n, ".tar.gz"), strings.HasSuffix(n, ".tgz"):
		return "tar.gz"
	case strings.HasSuffix(n, ".tar"):
		return "tar"
	case strings.HasSuffix(n, ".zip"):
		return "zip"
	}
	return ""
}

const glasgow = "http://ir.dcs.gla.ac.uk/resources/test_collections/"
const beir = "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/"

// registry lists the known entries. No SHA-256 sums are given: none of these upstreams publishes one, so
// the first download's sum is recorded and enforced afterwards (see Entry.SHA256). MD5 sums are given
// where the upstream (or a widely used mirror script) publishes one.
var registry = []Entry{
	{Name: "cranfield", URL: glasgow + "cran/cran.tar.gz", Loader: "smart", Description: "Cranfield 1400: aerodynamics abstracts, 225 queries, graded judgements (Glasgow IR group)"},
	{Name: "cacm", URL: glasgow + "cacm/cacm.tar.gz", Loader: "smart", Description: "CACM: 3,204 Communications of the ACM abstracts, 64 queries (Glasgow IR group)"},
	{Name: "cisi", URL: glasgow + "cisi/cisi.tar.gz", Loader: "smart", Description: "CISI: 1,460 library-science abstracts, 112 queries (Glasgow IR group)"},
	{Name: "medline", URL: glasgow + "medl/med.tar.gz", Loader: "smart", Description: "MEDLINE: 1,033 medical abstracts, 30 queries (Glasgow IR group)"},
	{Name: "npl", URL: glasgow + "npl/npl.tar.gz", Loader: "smart", Description: "NPL (Vaswani): 11,429 electronics titles, 93 queries (Glasgow IR group)"},
	{Name: "time", URL: glasgow + "time/time.tar.gz", Loader: "smart", Description: "TIME: 423 TIME magazine articles (1963), 83 queries (Glasgow IR group)"},
	{Name: "adi", URL: glasgow + "adi/adi.tar.gz", Loader: "smart", Description: "ADI: 82 information-science abstracts, 35 queries (Glasgow IR group)"},

	{Name: "scifact", URL: beir + "scifact.zip", Subdir: "scifact", Loader: "beir",
		SHA256:      "536e14446a0ba56ed1398ab1055f39fe852686ecad24a6306c80c490fa8e0165", // BEIR's scifact.zip (../shared/data/scifact/README.md)
		Description: "BEIR SciFact: 5K scientific abstracts, 300 test queries (2.7 MB)"},
	{Name: "nfcorpus", URL: beir + "nfcorpus.zip", Subdir: "nfcorpus", Loader: "beir", Description: "BEIR NFCorpus: 3.6K medical documents, 323 test queries (2.3 MB)"},
	{Name: "arguana", URL: beir + "arguana.zip", Subdir: "arguana", Loader: "beir", Description: "BEIR ArguAna: 8.7K arguments, 1,406 test queries (3.4 MB)"},
	{Name: "scidocs", URL: beir + "scidocs.zip", Subdir: "scidocs", Loader: "beir", Description: "BEIR SCIDOCS: 25K paper abstracts, 1,000 test queries (14 MB)"},
	{Name: "fiqa", URL: beir + "fiqa.zip", Subdir: "fiqa", Loader: "beir", Description: "BEIR FiQA-2018: 57K financial posts, 648 test queries (17 MB)"},
	{Name: "trec-covid", URL: beir + "trec-covid.zip", Subdir: "trec-covid", Loader: "beir", Description: "BEIR TREC-COVID: 171K CORD-19 abstracts, 50 test queries (69 MB)"},
	{Name: "webis-touche2020", URL: beir + "webis-touche2020.zip", Subdir: "webis-touche2020", Loader: "beir", Description: "BEIR Touché-2020: 382K arguments, 49 test queries (226 MB)"},
	{Name: "quora", URL: beir + "quora.zip", Subdir: "quora", Loader: "beir", Description: "BEIR Quora: 523K questions, 10K test queries (15 MB)"},
	{Name: "nq", URL: beir + "nq.zip", Subdir: "nq", Loader: "beir", Description: "BEIR Natural Questions: 2.7M Wikipedia passages, 3,452 test queries (489 MB)"},
	{Name: "hotpotqa", URL: beir + "hotpotqa.zip", Subdir: "hotpotqa", Loader: "beir", Description: "BEIR HotpotQA: 5.2M Wikipedia passages, 7,405 test queries (623 MB)"},
	{Name: "beir-msmarco", URL: beir + "msmarco.zip", Subdir: "msmarco", Loader: "beir", Description: "BEIR's MS MARCO: 8.8M passages, train/dev/test qrels (1 GB)"},

	{Name: "msmarco-passage", URL: "https://msmarco.z22.web.core.windows.net/msmarcoranking/collectionandqueries.tar.gz", Loader: "msmarco",
		Description: "MS MARCO passage ranking: collection.tsv (8.8M passages), queries and qrels (1 GB download, 3 GB unpacked)"},
	{Name: "msmarco-hard-negatives", URL: "https://huggingface.co/datasets/sentence-transformers/msmarco-hard-negatives/resolve/main/msmarco-hard-negatives.jsonl.gz",
		Description: "sentence-transformers' mined hard negatives for MS MARCO training queries (JSONL, gzip; datasets.ReadHardNegatives)"},
	{Name: "msmarco-margin-mse-scores", URL: "https://zenodo.org/record/4068216/files/bert_cat_ensemble_msmarcopassage_train_scores_ids.tsv?download=1",
		MD5:         "4d99696386f96a7f1631076bcc53ac3c",
		Description: "Hofstätter et al.'s BERT-CAT ensemble teacher scores for MS MARCO triples (TSV; datasets.ReadMarginMSETSV)"},
}

// Registry returns the known entries.
func Registry() []Entry { return slices.Clone(registry) }

// Lookup returns the registry entry called name, or an error listing the known names.
func Lookup(name string) (Entry, error) {
	for _, e := range registry {
		if e.Name == name {
			return e, nil
		}
	}
	var names []string
	for _, e := range registry {
		names = append(names, e.Name)
	}
	return Entry{}, fmt.Errorf("download: no collection %q; known: %s", name, strings.Join(names, ", "))
}
