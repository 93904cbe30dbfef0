// Package splade is the SPLADE student (Formal, Piwowarski & Clinchant, SIGIR 2021): sparse
// vocabulary-sized vectors whose dot product is fitted to the teacher's scores by MSE, with a FLOPS
// (or L1) sparsity penalty; its encoder, its inverted index and the job that runs them for a
// collection, and the λ sweep of the sparsity trade-off.
//
// Retrieval: the corpus is encoded once into sparse vectors ([Encoder]), the vectors go into an
// inverted index with quantised impact weights ([BuildIndex]), and a query is encoded and scored
// against every document exactly, term at a time ([Index.Search]).
package splade
