"""Curating a data set: finding the rows that look mislabelled.

- curation.folds: which fold holds out each row; labels too rare to judge
- curation.out_of_fold: out-of-fold probabilities from the TF-IDF baseline or a fine-tuned
  checkpoint, with finished folds kept on disk (curation.fold_store) for a resumed run
- curation.label_issues: cleanlab's confident learning over those probabilities
- curation.issues_file, curation.cleaned_copy: the issues TSV and a cleaned copy of the data

It builds on classifier and processors; only scripts/ imports it. Importing it loads numpy
alone (scikit-learn, jieba, cleanlab and TensorFlow load when a function needs them).
"""
