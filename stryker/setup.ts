/**
 * Loaded before each test file under Stryker only. A mutant that breaks a property fails it on
 * the first counterexample: shrinking that counterexample tells nothing more here and, on a
 * loaded machine, can run past the mutant timeout.
 */
import fc from 'fast-check'

fc.configureGlobal({ ...fc.readConfigureGlobal(), endOnFailure: true })
