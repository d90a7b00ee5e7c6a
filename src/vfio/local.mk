# vfio build fragment (filled in by its module)
