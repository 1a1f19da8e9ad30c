// `express4` is an npm alias of express@4 (devDependency); its API and types match express's.
declare module 'express4' {
  import express from 'express'
  export default express
}
