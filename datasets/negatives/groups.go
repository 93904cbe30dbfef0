package negatives

import (
	"github.com/mimicry-ir/mimicry/datasets"
)

// GroupQrels turns the positives of training groups (TrainingSet's Train and Dev)
// into judgements of relevance 1, e.g. for the positives argument of colbert.Train.
func GroupQrels(groups ...[]TrainGroup) datasets.Qrels {
	q := datasets.Qrels{}
	for _, gs := range groups {
		for _, g := range gs {
			for _, p := range g.Positives {
				q.Add(g.QID, p, 1)
			}
		}
	}
	return q
}

// TrainingQueries maps the ids of the queries a student may train on to their texts: the
// collection's training and evaluation queries (datasets.Collection.QueryTexts) and the weak-supervision
// pseudo-queries ("title:<docid>" → title, WeakPairs).
func TrainingQueries(c *datasets.Collection) map[string]string {
	out := c.QueryTexts()
	if len(c.TrainQueries) == 0 {
		weak, _, _ := WeakPairs(c)
		for _, q := range weak {
			out[q.ID] = q.Text
		}
	}
	return out
}

// TrainingPositives are the judged positives a student may train on: the training qrels
// (relevance > 0) and, for collections without training queries, the weak-supervision pairs — never
// the evaluation judgements.
func TrainingPositives(c *datasets.Collection) datasets.Qrels {
	out := datasets.Qrels{}
	for qid, docs := range c.TrainQrels {
		for did, rel := range docs {
			if rel > 0 {
				out.Add(qid, did, rel)
			}
		}
	}
	if len(c.TrainQueries) == 0 {
		_, weak, _ := WeakPairs(c)
		for qid, docs := range weak {
			for did, rel := range docs {
				out.Add(qid, did, rel)
			}
		}
	}
	return out
}
