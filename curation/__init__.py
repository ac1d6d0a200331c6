"""Tools that improve the data: find mislabelled rows, choose what to label next, round-trip with annotation tools, augment small data sets."""
