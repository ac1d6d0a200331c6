"""Tools that improve the data (docs/data.md); only scripts/ imports this package.

- curation.folds, curation.fold_store, curation.out_of_fold, curation.label_issues,
  curation.issues_file, curation.cleaned_copy: mislabelled rows (find_label_issues.sh):
  out-of-fold probabilities (TF-IDF baseline or a fine-tuned checkpoint, finished folds kept on
  disk for a resumed run), then cleanlab's confident learning over them
- curation.uncertainty, curation.text_space, curation.selection, curation.pool: what to label
  next (select_for_labeling.sh)
- curation.annotation_*: doccano / Label Studio round trips (convert_annotations.sh)
- curation.word_edits, curation.augmenter, curation.mlm_fill, curation.tsv_table: augmentation
  (augment.sh)

Importing it loads nothing heavy (scikit-learn, jieba, cleanlab and TensorFlow load when a
function needs them).
"""
