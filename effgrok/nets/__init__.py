"""JAX networks trained with the papers' protocols, vmapped over seeds and grid points."""
