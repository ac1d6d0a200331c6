"""Tools that improve the data: label issues, what to label next, annotation, augmentation."""
