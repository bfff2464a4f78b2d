import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { startApp } from './app.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
if (main && nav) startApp({ main, nav });
